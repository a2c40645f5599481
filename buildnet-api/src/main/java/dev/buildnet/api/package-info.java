/**
 * The API's one exception root, {@link dev.buildnet.api.BuildNetException}: every error
 * BuildNet throws on purpose descends from it; and {@link dev.buildnet.api.NotStartedException},
 * for work that could not be started at all (a command, a build of a locked workspace, a request a
 * master refused).
 */
package dev.buildnet.api;
