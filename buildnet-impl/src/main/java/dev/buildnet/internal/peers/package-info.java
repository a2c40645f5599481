/**
 * Build events shared between masters over a pub/sub state backend (Redis), and the view of
 * what the other masters build.
 */
package dev.buildnet.internal.peers;
