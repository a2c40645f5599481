package dev.buildnet.cli;

import dev.buildnet.BuildNet;
import dev.buildnet.http.BuildNetHttp;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --http}: the optional HTTP API, events and dashboard (buildnet-jetty). */
final class HttpOptions {
  @Option(names = "--http", paramLabel = "HOST:PORT",
      description = "Serve the HTTP API and dashboard on HOST:PORT, e.g. 127.0.0.1:7891.")
  String http;

  @Option(names = "--http-token-file", paramLabel = "FILE",
      description = "File whose first line is the bearer token for builds, state changes and cache "
          + "uploads (and for reads, unless --http-open-reads).")
  Path tokenFile;

  @Option(names = "--http-open-reads",
      description = "Let read-only endpoints answer without the token.")
  boolean openReads;

  /**
   * Fails on a bad {@code --http} address or token file before anything starts, so that a
   * master is not started (and its address printed) only to be stopped by the HTTP options.
   */
  void check() {
    if (http != null) {
      ServeCommand.parse("--http", http);
      // BuildNetHttp refuses this too, but only once the master listens, and in the builder's
      // words (token(...), openReads(true)) rather than the flags a CLI user can pass.
      if (tokenFile == null && !openReads) {
        throw new IllegalArgumentException("--http needs --http-token-file FILE (or"
            + " --http-open-reads for an API that only reads): without either, only /health and"
            + " /ready would answer");
      }
    }
    if (tokenFile != null) {
      if (!java.nio.file.Files.exists(tokenFile)) {
        throw new IllegalArgumentException("http token file " + tokenFile + " does not exist");
      }
      if (!java.nio.file.Files.isRegularFile(tokenFile)) {
        throw new IllegalArgumentException("http token file " + tokenFile
            + " is not a regular file");
      }
    }
  }

  /** Starts the HTTP front if {@code --http} was given; null otherwise. */
  BuildNetHttp startIfAsked(BuildNet net, PrintWriter out) {
    if (http == null) {
      return null;
    }
    InetSocketAddress a = ServeCommand.parse("--http", http);
    BuildNetHttp.Builder b = BuildNetHttp.attach(net).host(a.getHostString()).port(a.getPort());
    if (tokenFile != null) {
      b.tokenFile(tokenFile);
    }
    if (openReads) {
      b.openReads(true);
    }
    BuildNetHttp started = b.start();
    out.println("http on " + started.uri() + (tokenFile != null
        ? " (dashboard: open " + started.uri() + "#token=<token>)" : ""));
    out.flush();
    return started;
  }
}
