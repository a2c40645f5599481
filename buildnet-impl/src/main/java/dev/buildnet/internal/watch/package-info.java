/**
 * Watch mode ({@code BuildNet.watch}): a recursive file watcher over the JDK's
 * {@link java.nio.file.WatchService} ({@link dev.buildnet.internal.watch.DirectoryWatcher}) and
 * the session that turns its events into debounced, cancelling, proportional rebuilds
 * ({@link dev.buildnet.internal.watch.WatchSession}).
 */
package dev.buildnet.internal.watch;
