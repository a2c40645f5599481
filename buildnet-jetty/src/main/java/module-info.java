/**
 * BuildNet's optional HTTP add-on: the JSON API, live events, the build cache endpoints, metrics
 * and the dashboard, on Jetty 12. {@code dev.buildnet.http.BuildNetHttp} is its entry point.
 */
module dev.buildnet.jetty {
  requires transitive dev.buildnet.impl;
  requires com.fasterxml.jackson.databind;
  requires io.prometheus.metrics.model;
  requires micrometer.core;
  requires micrometer.jetty12;
  requires micrometer.registry.prometheus;
  requires org.eclipse.jetty.server;
  requires org.eclipse.jetty.websocket.server;
  requires org.slf4j;

  exports dev.buildnet.http;
}
