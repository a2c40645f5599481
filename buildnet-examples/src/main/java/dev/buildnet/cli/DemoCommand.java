package dev.buildnet.cli;

import dev.buildnet.BuildNet;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.bundle.Availability;
import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.bundle.EsbuildAdapter;
import dev.buildnet.graph.Target;
import dev.buildnet.graph.WorkspaceFile;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Builds a real sample workspace: four Java libraries and an app compiled with javac and packaged
 * with jar, with real dependencies between them, plus an esbuild bundle where esbuild is available.
 * Run it twice: the second run serves every target from the cache.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Builds a sample workspace (run it twice to see the cache at work).")
final class DemoCommand implements Callable<Integer> {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  private java.io.PrintWriter out() {
    return spec.commandLine().getOut();
  }

  private static final String RESOURCES = "/dev/buildnet/examples/demo-workspace/";

  @Option(names = "--dir", paramLabel = "DIR", description = "Where to put the sample workspace"
      + " (default: a new temporary directory, so that the demo never writes into the current"
      + " directory or repository; name one to run the demo again on the same cache).")
  Path dir;

  @Option(names = "--fresh", description = "Start from a fresh copy with an empty cache.")
  boolean fresh;

  @Option(names = "--tool-path", description = "Where to look for esbuild, PATH-style "
      + "(default: the workspace's node_modules/.bin, then PATH).")
  String toolPath;

  @Option(names = {"-j", "--slots"}, defaultValue = "0", converter = SlotCount.class,
      description = "CPU slots (default: cores).")
  int slots;

  @picocli.CommandLine.Mixin HttpOptions httpOptions;

  @Override
  public Integer call() throws IOException, InterruptedException {
    httpOptions.check(); // before the demo builds for a minute only to fail on them
    Path ws = (dir != null ? dir : Files.createTempDirectory("buildnet-demo-"))
        .toAbsolutePath().normalize();
    if (fresh) {
      deleteTree(ws);
    }
    if (!Files.exists(ws.resolve("buildnet.json"))) {
      copySample(ws);
      out().println("sample workspace written to " + ws);
    } else {
      out().println("using the sample workspace in " + ws + " (--fresh starts over)");
    }
    List<Target> targets = new ArrayList<>(WorkspaceFile.load(ws).targets());
    EsbuildAdapter.Builder eb = EsbuildAdapter.builder(ws)
        .shell(ShellProvider.processes())
        .hashes(HashProvider.xxh64());
    if (toolPath != null) {
      eb.searchPath(toolPath);
    }
    EsbuildAdapter esbuild = eb.build();
    Availability av = esbuild.availability();
    if (av.available()) {
      // Declared in code rather than in buildnet.json: both ways make the same kind of target.
      targets.add(Target.builder("web")
          .bundler("esbuild", Map.of("minify", "true", "format", "esm"),
              List.of("web/src/main.ts"), "out/web")
          .inputs("web/src/**/*.ts")
          .outputs("out/web")
          .build());
    } else {
      out().println("skipping the esbuild target: " + av.reason());
      out().println("  (run `npm install esbuild` in " + ws + " to include it)");
    }
    ConsoleReporter reporter = new ConsoleReporter(out(), Terminal.isLive(), false);
    BuildNet.Builder b = BuildNet.builder().workspace(ws).targets(targets).listener(reporter)
        .origin(dev.buildnet.api.build.BuildOrigin.cli(System.getProperty("user.name")))
        .bundler(esbuild);
    if (slots > 0) {
      b.localSlots(slots);
    }
    try (UntilSignal signal = UntilSignal.arm("buildnet-demo-shutdown");
        BuildNet net = b.start();
        dev.buildnet.http.BuildNetHttp http = httpOptions.startIfAsked(net, out())) {
      dev.buildnet.BuildFuture build = net.buildAll();
      BuildResult r;
      try (CancelOnShutdown onSignal = CancelOnShutdown.arm(build, out())) {
        r = build.result().join();
        if (!onSignal.commandPrints()) {
          return 1; // the hook prints the cancelled summary; the JVM exits 130 or 143
        }
        ConsoleReporter.summary(out(), r);
      }
      if (r.success()) {
        out().println();
        out().println("the app's report, " + ws.relativize(ws.resolve("out/sample-report.txt"))
            + ":");
        out().print(Files.readString(ws.resolve("out/sample-report.txt")));
        out().println();
        out().println("run the demo again and every target comes from the cache:");
        out().println("  buildnet demo --dir " + ws);
      }
      if (http != null) {
        out().println("serving " + http.uri() + " until Ctrl-C");
        out().flush();
        signal.await();
      }
      return r.success() ? 0 : 1;
    }
  }

  private static void copySample(Path ws) throws IOException {
    for (String rel : sampleFiles()) {
      Path dest = ws.resolve(rel);
      Files.createDirectories(dest.getParent());
      try (InputStream in = DemoCommand.class.getResourceAsStream(RESOURCES + rel)) {
        if (in == null) {
          throw new IllegalStateException("sample file " + rel + " is missing from the jar");
        }
        Files.copy(in, dest, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  static List<String> sampleFiles() throws IOException {
    try (InputStream in = DemoCommand.class.getResourceAsStream(RESOURCES + "files.txt")) {
      if (in == null) {
        throw new IllegalStateException("files.txt is missing from the demo resources");
      }
      List<String> files = new ArrayList<>();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          if (!line.isBlank()) {
            files.add(line.strip());
          }
        }
      }
      return files;
    }
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    if (!Files.exists(root.resolve("buildnet.json"))) {
      throw new IllegalArgumentException(
          root + " does not look like a BuildNet demo workspace; refusing to delete it");
    }
    try (var paths = Files.walk(root)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.delete(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
  }
}
