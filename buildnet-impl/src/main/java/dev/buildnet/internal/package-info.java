/**
 * Internals shared by several engine packages (workspace path rules, disk space, argument
 * checks). Not exported.
 */
package dev.buildnet.internal;
