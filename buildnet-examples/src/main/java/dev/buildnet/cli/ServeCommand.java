package dev.buildnet.cli;

import dev.buildnet.internal.addon.AddOns;

import dev.buildnet.BuildNet;
import dev.buildnet.internal.master.MasterServer;
import dev.buildnet.internal.master.WorkerEvent;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Runs a BuildNet master for a workspace until interrupted: workers connect to it and run its
 * targets; clients submit builds of its targets and use its state and locks. Prints {@code listening on HOST:PORT} once it accepts connections, so
 * scripts and test fixtures can start it on port 0 and read the port.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Runs a master that workers and clients connect to (until Ctrl-C).")
final class ServeCommand implements Callable<Integer> {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Mixin WorkspaceOptions ws;

  @Mixin HttpOptions httpOptions;

  @Option(names = "--listen", defaultValue = "127.0.0.1:7890",
      description = "HOST:PORT to listen on (default 127.0.0.1:7890; port 0 picks a free one).")
  String listen;

  @picocli.CommandLine.Mixin TlsOptions tls = new TlsOptions();

  @Option(names = "--secret-file", required = true,
      description = "File holding the shared secret (at least 16 bytes). Never pass a secret as "
          + "an argument: other users can read the process list.")
  Path secretFile;

  @Option(names = "--local-slots", converter = SlotCount.class,
      description = "CPU slots for targets run by the master itself (default: -j, else cores); 0"
          + " sends every target to workers.")
  Integer localSlots; // null: not given

  @Option(names = "--placement-timeout", defaultValue = "300", converter = PositiveCount.class,
      description = "Seconds a target no connected worker can run waits for one (default 300).")
  long placementTimeoutSeconds;

  @Option(names = "--heartbeat-timeout", defaultValue = "15", converter = PositiveCount.class,
      description = "Seconds without a heartbeat before a worker is declared dead (default 15).")
  long heartbeatTimeoutSeconds;

  @Option(names = "--defer-outputs",
      description = "Deferred outputs: workers offering keep-outputs keep the outputs of targets"
          + " nothing requested or reads as inputs, and the master fetches them only when needed"
          + " (default off; see README, \"Deferred outputs\").")
  boolean deferOutputs;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    byte[] secret = readSecret(secretFile);
    httpOptions.check();
    try (UntilSignal signal = UntilSignal.arm("buildnet-serve-shutdown")) {
      return serve(out, secret, signal);
    }
  }

  private int serve(PrintWriter out, byte[] secret, UntilSignal signal) throws Exception {
    BuildNet.Builder b = BuildNet.builder().workspace(ws.workspace).listen(parse(listen))
        .transport(tls.transport(secret, true)
            .heartbeatTimeout(java.time.Duration.ofSeconds(heartbeatTimeoutSeconds)).build());
    if (localSlots != null) {
      b.localSlots(localSlots);
    } else if (ws.slots > 0) {
      b.localSlots(ws.slots);
    }
    if (deferOutputs) {
      b.deferOutputs(true);
    }
    b.placementTimeout(java.time.Duration.ofSeconds(placementTimeoutSeconds))
        .onWorkspaceLockWait(WorkspaceOptions.lockNotice(out));
    BuildNet started;
    try {
      started = b.start(); // holds the workspace lock until it closes
    } catch (dev.buildnet.api.NotStartedException e) {
      if (e.reason() != dev.buildnet.api.NotStartedException.Reason.WORKSPACE_LOCKED) {
        throw e;
      }
      spec.commandLine().getErr().println("buildnet serve: " + e.getMessage());
      spec.commandLine().getErr().flush();
      return 2;
    }
    try (BuildNet net = started;
        dev.buildnet.http.BuildNetHttp http = httpOptions.startIfAsked(net, out)) {
      MasterServer master = AddOns.master(net).orElseThrow();
      master.addWorkerListener(e -> {
        synchronized (out) {
          out.println(describe(e));
          out.flush();
        }
      });
      InetSocketAddress bound = master.localAddress();
      out.println("listening on " + bound.getHostString() + ":" + bound.getPort());
      out.flush();
      signal.await();
      return 0;
    }
  }

  private static String describe(WorkerEvent e) {
    return "worker " + e.worker().id() + " " + e.kind().name().toLowerCase(java.util.Locale.ROOT)
        + (e.reason() == null || e.reason().isEmpty() ? "" : ": " + e.reason());
  }

  static byte[] readSecret(Path file) throws IOException {
    requireRegularFile("secret file", file);
    // One rule everywhere (docs/PROTOCOL.md, "Secret files"): trailing CR/LF are not the secret.
    return dev.buildnet.BuildNet.readSecret(file);
  }

  /** A password file (e.g. a TLS key store's): its bytes without trailing CR/LF, any length. */
  static byte[] readPasswordFile(Path file) throws IOException {
    requireRegularFile("password file", file);
    byte[] raw = Files.readAllBytes(file);
    int end = raw.length;
    while (end > 0 && (raw[end - 1] == '\n' || raw[end - 1] == '\r')) {
      end--;
    }
    return java.util.Arrays.copyOf(raw, end);
  }

  /** Says which is wrong: a path that is missing, or one that names a directory or the like. */
  private static void requireRegularFile(String what, Path file) {
    if (!Files.exists(file)) {
      throw new IllegalArgumentException(what + " " + file + " does not exist");
    }
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(what + " " + file + " is not a regular file"
          + (Files.isDirectory(file) ? " but a directory" : ""));
    }
  }

  static InetSocketAddress parse(String hostPort) {
    return parse("--listen", hostPort);
  }

  static InetSocketAddress parse(String option, String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    if (colon <= 0 || colon == hostPort.length() - 1) {
      throw new IllegalArgumentException(option + " must be HOST:PORT but was '" + hostPort + "'");
    }
    String host = hostPort.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(hostPort.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(option + " port must be a number: '" + hostPort + "'");
    }
    return new InetSocketAddress(host, port);
  }
}
