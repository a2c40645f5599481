/**
 * Worker internals: one TARGET_RUN in its sandbox ({@code WorkerAttempt}: inputs, the shared
 * {@code TargetStep}, outputs, exactly one terminal reply).
 */
package dev.buildnet.internal.worker;
