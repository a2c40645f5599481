/**
 * The build graph a host describes: {@link dev.buildnet.graph.Target}s, the validated {@link
 * dev.buildnet.graph.BuildGraph}, and the {@code buildnet.json} workspace file.
 */
package dev.buildnet.graph;
