/**
 * The bridge through which BuildNet's own add-ons (HTTP module, CLI) read engine internals a
 * host does not see. Exported only to those modules.
 */
package dev.buildnet.internal.addon;
