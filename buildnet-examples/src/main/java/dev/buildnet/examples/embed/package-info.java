/**
 * Runnable programs that show embedding BuildNet in a host: a master with workers and a client,
 * wired in code.
 */
package dev.buildnet.examples.embed;
