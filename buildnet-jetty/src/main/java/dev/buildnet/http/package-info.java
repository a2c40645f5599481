/**
 * The optional HTTP add-on on Jetty 12: the JSON API, live events (SSE, WebSocket),
 * Bazel/Gradle cache endpoints, Prometheus metrics and the dashboard. {@link
 * dev.buildnet.http.BuildNetHttp} is its entry point; see docs/HTTP.md.
 */
package dev.buildnet.http;
