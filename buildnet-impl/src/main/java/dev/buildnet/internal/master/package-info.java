/**
 * The master role: accepts authenticated workers and clients, serves builds, state, locks and
 * blobs over the protocol, and places attempts on workers ({@code Dispatcher}).
 */
package dev.buildnet.internal.master;
