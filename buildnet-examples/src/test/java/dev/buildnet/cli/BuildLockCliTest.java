package dev.buildnet.cli;

import dev.buildnet.internal.addon.AddOns;

import dev.buildnet.api.transport.TransportSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.BuildNet;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression tests for two {@code buildnet build} processes on one workspace poisoning the cache:
 * real CLI processes (the jar's main class on the test class path) take turns through the
 * workspace lock, {@code --no-wait} exits 2, and a holder killed with SIGKILL is taken over.
 */
class BuildLockCliTest {
  private static final long WAIT = 60;
  private static final String END = "\0end";

  @TempDir Path ws;
  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void stopAll() throws IOException {
    Files.writeString(ws.resolve("release"), "");
    for (Process p : started) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  /** A CLI process with its output (stdout and stderr) read line by line. */
  private final class Cli {
    final Process process;
    final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    final List<String> all = java.util.Collections.synchronizedList(new ArrayList<>());

    Cli(String... args) throws IOException {
      List<String> cmd = new ArrayList<>(List.of(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"), BuildNetCli.class.getName()));
      cmd.addAll(List.of(args));
      process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      started.add(process);
      Thread reader = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          for (String l; (l = r.readLine()) != null; ) {
            all.add(l);
            lines.add(l);
          }
        } catch (IOException ended) {
          // the stream ends either way
        } finally {
          lines.add(END);
        }
      }, "cli-output-" + process.pid());
      reader.setDaemon(true);
      reader.start();
    }

    /** Waits for a line containing {@code text}; fails if the process ends first. */
    String awaitLine(String text) throws InterruptedException {
      while (true) {
        String l = lines.poll(WAIT, TimeUnit.SECONDS);
        if (l == null || l.equals(END)) {
          throw new AssertionError("no line with '" + text + "'; output: " + all);
        }
        if (l.contains(text)) {
          return l;
        }
      }
    }

    int exit() throws InterruptedException {
      assertTrue(process.waitFor(WAIT, TimeUnit.SECONDS), "the CLI did not end; output: " + all);
      return process.exitValue();
    }
  }

  private void workspace() throws IOException {
    Files.createDirectories(ws.resolve("out"));
    Files.writeString(ws.resolve("buildnet.json"), """
        {"version": 1, "targets": {"t0": {
          "command": ["sh", "-c", "touch started; while [ ! -e release ]; do sleep 0.02; done; head -c 20021 /dev/zero > out/t0.txt"],
          "outputs": ["out/t0.txt"]}}}
        """);
  }

  private void awaitStarted() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
    while (!Files.exists(ws.resolve("started"))) {
      assertTrue(System.nanoTime() < deadline, "the first build's command never started");
      Thread.sleep(10); // polling a condition with a bound: the command is another process
    }
  }

  @Test
  void aSecondBuildProcessWaitsForTheFirstSayingSoOnce() throws Exception {
    workspace();
    Cli first = new Cli("build", "-w", ws.toString());
    awaitStarted();
    Cli second = new Cli("build", "-w", ws.toString());
    String line = second.awaitLine("waiting for");
    assertTrue(line.matches("waiting for the build of process " + first.process.pid()
        + " \\(started \\d\\d:\\d\\d:\\d\\d\\) to finish"), line);
    assertTrue(second.process.isAlive(), "the second build did not wait: " + second.all);

    Files.writeString(ws.resolve("release"), "");
    assertEquals(0, first.exit(), String.join("\n", first.all));
    assertEquals(0, second.exit(), String.join("\n", second.all));
    assertEquals(1, second.all.stream().filter(l -> l.contains("waiting for")).count(),
        String.join("\n", second.all));
    assertEquals(20021, Files.size(ws.resolve("out/t0.txt")));
  }

  /** As a second build says it (above): one plain line, not a log record of the library's. */
  @Test
  void clean_waitsForARunningBuild_sayingSoOnceInItsOwnLine() throws Exception {
    workspace();
    Cli first = new Cli("build", "-w", ws.toString());
    awaitStarted();
    Cli second = new Cli("clean", "-w", ws.toString());
    String line = second.awaitLine("waiting for");
    assertTrue(line.matches("waiting for the build of process " + first.process.pid()
        + " \\(started \\d\\d:\\d\\d:\\d\\d\\) to finish"), line);

    Files.writeString(ws.resolve("release"), "");
    assertEquals(0, first.exit(), String.join("\n", first.all));
    assertEquals(0, second.exit(), String.join("\n", second.all));
    assertEquals(1, second.all.stream().filter(l -> l.contains("waiting for")).count(),
        String.join("\n", second.all));
  }

  @Test
  void noWaitExitsTwoAndAHolderKilledWithSigkillIsTakenOver() throws Exception {
    workspace();
    Cli first = new Cli("build", "-w", ws.toString());
    awaitStarted();
    Cli refused = new Cli("build", "--no-wait", "-w", ws.toString());
    assertEquals(2, refused.exit(), String.join("\n", refused.all));
    assertTrue(String.join("\n", refused.all).contains("the build of process "
        + first.process.pid() + " (started "), String.join("\n", refused.all));

    List<ProcessHandle> children = first.process.descendants().toList();
    first.process.destroyForcibly(); // SIGKILL: no shutdown hook, no unlock
    assertTrue(first.process.waitFor(WAIT, TimeUnit.SECONDS));
    children.forEach(ProcessHandle::destroyForcibly);

    Files.writeString(ws.resolve("release"), "");
    Cli next = new Cli("build", "--no-wait", "-w", ws.toString());
    assertEquals(0, next.exit(), String.join("\n", next.all));
    assertEquals(20021, Files.size(ws.resolve("out/t0.txt")));
  }

  @Test
  void aBuildOfAWorkspaceThatARunningMasterOwnsNamesTheMaster() throws Exception {
    workspace();
    try (BuildNet master = BuildNet.builder().workspace(ws)
        .listen(new InetSocketAddress("127.0.0.1", 0))
        .transport(TransportSettings.ofSecret("a shared secret of 32 bytes!!!!!".getBytes(StandardCharsets.UTF_8))).start()) {
      InetSocketAddress at = AddOns.master(master).orElseThrow().localAddress();
      Cli build = new Cli("build", "-w", ws.toString());
      assertEquals(2, build.exit(), String.join("\n", build.all));
      assertTrue(String.join("\n", build.all).contains("listening on " + at.getHostString() + ":"
          + at.getPort()), String.join("\n", build.all));
    }
  }
}
