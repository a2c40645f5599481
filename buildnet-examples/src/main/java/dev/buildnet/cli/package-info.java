/**
 * The {@code buildnet} command line (picocli): build, serve, worker, submit and friends,
 * written against the same facade a host uses. See docs/CLI.md.
 */
package dev.buildnet.cli;
