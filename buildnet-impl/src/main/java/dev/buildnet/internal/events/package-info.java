/**
 * What a BuildNet remembers of its builds for those who watch: history, snapshots, the replay
 * buffer, and the one JSON mapping of build events.
 */
package dev.buildnet.internal.events;
