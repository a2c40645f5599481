/**
 * The API's one exception root, {@link dev.buildnet.api.BuildNetException}: every error
 * BuildNet throws on purpose descends from it.
 */
package dev.buildnet.api;
