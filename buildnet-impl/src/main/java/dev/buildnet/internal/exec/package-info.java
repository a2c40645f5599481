/**
 * Process internals: process trees, leftover records, /proc inspection, output pumping, and
 * {@code TargetStep}, the one core that runs a target's command or bundler for local runs and
 * the Java worker.
 */
package dev.buildnet.internal.exec;
