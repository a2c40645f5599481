/**
 * What a build reports: the one sealed {@link dev.buildnet.api.build.BuildEvent} type that
 * listeners, the protocol's EVENT frames, the HTTP streams and Python all carry, plus results,
 * outcomes, metrics and origins.
 */
package dev.buildnet.api.build;
