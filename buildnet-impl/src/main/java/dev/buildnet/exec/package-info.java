/**
 * The default {@link dev.buildnet.api.exec.ShellProvider}: processes as argv lists, whole
 * process trees stopped on cancel, leftovers found and killed (Linux).
 */
package dev.buildnet.exec;
