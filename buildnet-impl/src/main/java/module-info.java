/**
 * BuildNet's engine and default providers.
 *
 * <p>A host reaches only the embedding facade ({@code dev.buildnet}: {@code BuildNet} and what its
 * methods return, and {@code MessageCodec} for a transport of its own; {@code dev.buildnet.graph}:
 * the targets it builds; {@code dev.buildnet.worker}
 * and {@code dev.buildnet.client}: the other two roles) and the default providers it wires in
 * code ({@code state}, {@code redis}, {@code exec}, {@code bundle}, {@code blob}). Everything else
 * lives under {@code dev.buildnet.internal}, exported only to BuildNet's own add-ons.
 * {@code ModuleDescriptorTest} pins this list; on the class path the same packages are the
 * contract.
 */
module dev.buildnet.impl {
  requires transitive dev.buildnet.api;
  requires java.management;
  requires java.net.http;
  requires java.sql;
  requires jdk.management;
  requires com.fasterxml.jackson.databind;
  requires com.sun.jna;
  requires msgpack.core;
  requires static org.apache.commons.pool2; // with Jedis: optional, only for the Redis providers
  requires org.lz4.java;
  requires org.slf4j;
  requires org.xerial.sqlitejdbc;
  requires static redis.clients.jedis;

  exports dev.buildnet;
  exports dev.buildnet.blob;
  exports dev.buildnet.bundle;
  exports dev.buildnet.client;
  exports dev.buildnet.exec;
  exports dev.buildnet.graph;
  exports dev.buildnet.redis;
  exports dev.buildnet.state;
  exports dev.buildnet.worker;

  // The HTTP add-on and the command line read the engine's history, workers and blob store.
  exports dev.buildnet.internal.addon to dev.buildnet.jetty, dev.buildnet.examples;
  exports dev.buildnet.internal.cache to dev.buildnet.jetty, dev.buildnet.examples;
  exports dev.buildnet.internal.events to dev.buildnet.jetty, dev.buildnet.examples;
  exports dev.buildnet.internal.master to dev.buildnet.jetty, dev.buildnet.examples;
  exports dev.buildnet.internal.peers to dev.buildnet.jetty, dev.buildnet.examples;
  exports dev.buildnet.internal.watch to dev.buildnet.jetty;

  // Jackson binds the workspace file, cache manifests and peer events by reflection.
  opens dev.buildnet.internal.cache to com.fasterxml.jackson.databind;
  opens dev.buildnet.internal.peers to com.fasterxml.jackson.databind;
  opens dev.buildnet.graph to com.fasterxml.jackson.databind;

  provides dev.buildnet.api.spi.DefaultProviders with dev.buildnet.internal.DefaultProvidersImpl;
}
