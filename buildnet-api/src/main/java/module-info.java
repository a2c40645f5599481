/**
 * BuildNet's public API: the provider interfaces a host implements or wires in, and the value
 * types they exchange. No third-party dependencies.
 */
module dev.buildnet.api {
  exports dev.buildnet.api;
  exports dev.buildnet.api.blob;
  exports dev.buildnet.api.build;
  exports dev.buildnet.api.bundle;
  exports dev.buildnet.api.exec;
  exports dev.buildnet.api.hash;
  // Only the bridge to the default implementations: hosts use the static factories instead.
  exports dev.buildnet.api.spi to dev.buildnet.impl;
  exports dev.buildnet.api.state;
  exports dev.buildnet.api.transport;

  uses dev.buildnet.api.spi.DefaultProviders;
}
