/**
 * The client role: {@link dev.buildnet.client.RemoteClient} submits builds to a master, follows
 * their events, re-attaches after a lost connection, and reaches the master's state and blobs.
 */
package dev.buildnet.client;
