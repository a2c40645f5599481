package dev.buildnet.cli;

import dev.buildnet.BuildNet;
import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.bundle.BunAdapter;
import dev.buildnet.bundle.EsbuildAdapter;
import dev.buildnet.worker.Worker;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs a worker that connects to a master and runs the targets it sends, until interrupted.
 * Prints {@code connected to HOST:PORT as ID} once first connected, so scripts can wait for it;
 * later reconnects are logged by the worker.
 */
@Command(name = "worker", mixinStandardHelpOptions = true,
    description = "Runs a worker for a master (until Ctrl-C); reconnects if the master goes away.")
final class WorkerCommand implements Callable<Integer> {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--master", required = true, description = "HOST:PORT of the master.")
  String master;

  @picocli.CommandLine.Mixin TlsOptions tls = new TlsOptions();

  @Option(names = "--secret-file", required = true,
      description = "File holding the shared secret (never pass a secret as an argument).")
  Path secretFile;

  @Option(names = "--capabilities", split = ",",
      description = "Capabilities to advertise, comma-separated (the OS ones are added).")
  List<String> capabilities = new ArrayList<>();

  @Option(names = "--id", description = "Worker id (default HOST-PID).")
  String id;

  @Option(names = {"-j", "--slots"}, converter = SlotCount.class,
      description = "CPU slots (default: cores).")
  int slots;

  @Option(names = "--memory-mb", converter = PositiveCount.class, description = "Memory to advertise in MB (default: physical).")
  long memoryMb;

  @Option(names = "--work-dir", description = "Sandboxes and local blob cache (default: temp).")
  Path workDir;

  @Option(names = "--bundlers", split = ",", defaultValue = "esbuild,bun",
      description = "Bundler adapters to offer when their tool is found (default esbuild,bun; "
          + "'none' for none); each one found adds the capability bundler:<name>.")
  List<String> bundlerNames = new ArrayList<>();

  @Option(names = "--tool-path", description = "The search path for bundler tools instead of "
      + "PATH (directories separated by ':', e.g. a node_modules/.bin directory).")
  String toolPath;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    InetSocketAddress address = ServeCommand.parse("--master", master);
    Worker.Builder b = BuildNet.worker()
        .transport(tls.transport(ServeCommand.readSecret(secretFile), false).build())
        .capabilities(capabilities);
    if (id != null) {
      b.workerId(id);
    }
    if (slots > 0) {
      b.cpuSlots(slots);
    }
    if (memoryMb > 0) {
      b.memoryMb(memoryMb);
    }
    if (workDir != null) {
      b.workDir(workDir);
    }
    Path toolRoot = workDir != null ? workDir : Path.of(".").toAbsolutePath();
    for (String name : bundlerNames) {
      switch (name) {
        case "esbuild" -> {
          EsbuildAdapter.Builder eb = EsbuildAdapter.builder(toolRoot)
              .shell(ShellProvider.processes()).hashes(HashProvider.xxh64());
          if (toolPath != null) {
            eb.searchPath(toolPath);
          }
          b.bundler(eb.build());
        }
        case "bun" -> {
          BunAdapter.Builder bb = BunAdapter.builder(toolRoot)
              .shell(ShellProvider.processes()).hashes(HashProvider.xxh64());
          if (toolPath != null) {
            bb.searchPath(toolPath);
          }
          b.bundler(bb.build());
        }
        case "none" -> { }
        default -> throw new IllegalArgumentException(
            "--bundlers knows esbuild, bun and none, not '" + name + "'");
      }
    }
    try (UntilSignal signal = UntilSignal.arm("buildnet-worker-shutdown");
        Worker w = b.connect(address.getHostString(), address.getPort())) {
      while (!w.awaitConnected(java.time.Duration.ofSeconds(1))) {
        if (signal.stopping()) {
          return 0;
        }
      }
      out.println("connected to " + master + " as " + w.workerId());
      out.flush();
      signal.await();
      return 0;
    }
  }
}
