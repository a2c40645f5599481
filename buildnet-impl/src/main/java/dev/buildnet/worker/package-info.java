/**
 * The worker role: {@link dev.buildnet.worker.Worker} connects to a master, advertises
 * capabilities and capacity, and runs the targets it is given.
 */
package dev.buildnet.worker;
