package dev.buildnet.cli;

import dev.buildnet.api.transport.TransportSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.client.RemoteClient;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code buildnet serve} as a separate process, the way scripts and the Python tests start it. */
class ServeCommandTest {
  @TempDir Path dir;

  @Test
  void servesStateToAClientUntilTerminated() throws Exception {
    Files.writeString(dir.resolve("buildnet.json"), "{\"version\": 1, \"targets\": {}}");
    Path secret = Files.writeString(dir.resolve("secret"), "0123456789abcdef0123456789abcdef\n");
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"),
        BuildNetCli.class.getName(), "serve", "-w", dir.toString(),
        "--listen", "127.0.0.1:0", "--secret-file", secret.toString()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      BufferedReader out = new BufferedReader(
          new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      String line = firstLineStartingWith(out, "listening on ");
      assertNotNull(line, "serve exited without listening");
      int port = Integer.parseInt(line.substring(line.lastIndexOf(':') + 1));
      try (RemoteClient client = RemoteClient.builder().address("127.0.0.1", port)
          .transport(TransportSettings.ofSecret("0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8)))
          .connect()) {
        client.state().setString("k", "v");
        assertEquals("v", client.state().getString("k").orElseThrow());
      }
      assertTrue(Files.exists(dir.resolve(".buildnet/state.db-wal")), "the state store is open");
      p.destroy(); // SIGTERM: the shutdown hook waits while serve closes BuildNet
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "serve did not stop on SIGTERM");
      // SQLite merges and removes its write-ahead log when the last connection closes: only a
      // clean close of the state store leaves no -wal file.
      assertFalse(Files.exists(dir.resolve(".buildnet/state.db-wal")),
          "serve exited without closing its state store");
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void servesTheHttpApiWhenAskedWithHttp() throws Exception {
    Files.writeString(dir.resolve("buildnet.json"), "{\"version\": 1, \"targets\": {}}");
    Path secret = Files.writeString(dir.resolve("secret"), "0123456789abcdef0123456789abcdef\n");
    Path token = Files.writeString(dir.resolve("token"), "a-token-of-enough-length\n");
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"),
        BuildNetCli.class.getName(), "serve", "-w", dir.toString(),
        "--listen", "127.0.0.1:0", "--secret-file", secret.toString(),
        "--http", "127.0.0.1:0", "--http-token-file", token.toString()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      BufferedReader out = new BufferedReader(
          new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      String line = firstLineStartingWith(out, "http on ");
      assertNotNull(line, "serve exited without starting HTTP");
      java.net.URI base = java.net.URI.create(line.substring("http on ".length()).split(" ")[0]);
      java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
      assertEquals(200, http.send(java.net.http.HttpRequest.newBuilder(base.resolve("/health"))
          .build(), java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode());
      assertEquals(401, http.send(java.net.http.HttpRequest.newBuilder(base.resolve("/api/builds"))
          .build(), java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode());
      assertEquals(200, http.send(java.net.http.HttpRequest.newBuilder(base.resolve("/api/builds"))
          .header("Authorization", "Bearer a-token-of-enough-length").build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode());
      p.destroy();
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "serve did not stop on SIGTERM");
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void aSecondServeOfTheSameWorkspace_exitsWith2NamingTheRunningMaster() throws Exception {
    Files.writeString(dir.resolve("buildnet.json"), "{\"version\": 1, \"targets\": {}}");
    Path secret = Files.writeString(dir.resolve("secret"), "0123456789abcdef0123456789abcdef\n");
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"),
        BuildNetCli.class.getName(), "serve", "-w", dir.toString(),
        "--listen", "127.0.0.1:0", "--secret-file", secret.toString()));
    Process first = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    Process second = null;
    try {
      BufferedReader out = new BufferedReader(
          new InputStreamReader(first.getInputStream(), StandardCharsets.UTF_8));
      String line = firstLineStartingWith(out, "listening on ");
      assertNotNull(line, "serve exited without listening");
      String port = line.substring(line.lastIndexOf(':') + 1);

      // The running master owns the workspace: the second one fails at once, in one line.
      second = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      assertTrue(second.waitFor(60, TimeUnit.SECONDS), "the second serve did not exit");
      String output = new String(second.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(2, second.exitValue(), output);
      assertTrue(output.contains("buildnet serve: workspace ") && output.contains(" is owned by ")
          && output.contains(":" + port), output);
      first.destroy();
      assertTrue(first.waitFor(30, TimeUnit.SECONDS), "serve did not stop on SIGTERM");
    } finally {
      first.destroyForcibly();
      if (second != null) {
        second.destroyForcibly();
      }
    }
  }

  @Test
  void withDeferOutputsAnIntermediateOutputStaysOnTheWorkerThatMadeIt() throws Exception {
    Path ws = Files.createDirectories(dir.resolve("ws"));
    Files.createDirectories(ws.resolve("src"));
    Files.writeString(ws.resolve("src/in.txt"), "hello\n");
    Files.writeString(ws.resolve("buildnet.json"), """
        {"version": 1, "targets": {
          "a": {"command": ["sh", "-c", "mkdir -p out && tr a-z A-Z < src/in.txt > out/a.txt"],
                "inputs": ["src/in.txt"], "outputs": ["out/a.txt"], "requires": ["one"]},
          "b": {"command": ["sh", "-c", "cat out/a.txt > out/b.txt && echo b >> out/b.txt"],
                "outputs": ["out/b.txt"], "deps": ["a"], "requires": ["one"]}}}
        """);
    String secretText = "0123456789abcdef0123456789abcdef";
    Path secret = Files.writeString(dir.resolve("secret"), secretText + "\n");
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"),
        BuildNetCli.class.getName(), "serve", "-w", ws.toString(),
        "--listen", "127.0.0.1:0", "--secret-file", secret.toString(), "--local-slots", "0",
        "--defer-outputs"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    TransportSettings settings =
        TransportSettings.ofSecret(secretText.getBytes(StandardCharsets.UTF_8));
    try {
      BufferedReader out = new BufferedReader(
          new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      String line = firstLineStartingWith(out, "listening on ");
      assertNotNull(line, "serve exited without listening");
      // Drains the rest of the output so the process never blocks on a full pipe.
      Thread drain = new Thread(() -> {
        try {
          while (out.readLine() != null) {
            // discarded
          }
        } catch (java.io.IOException e) {
          // the process ended
        }
      });
      drain.setDaemon(true);
      drain.start();
      int port = Integer.parseInt(line.substring(line.lastIndexOf(':') + 1));
      try (dev.buildnet.worker.Worker worker = dev.buildnet.BuildNet.worker().workerId("w1")
              .capabilities(List.of("one")).workDir(dir.resolve("work")).transport(settings)
              .connect("127.0.0.1", port);
          RemoteClient client = RemoteClient.builder().address("127.0.0.1", port)
              .transport(settings).connect()) {
        var result = client.submit("b").result().get(60, TimeUnit.SECONDS);
        assertTrue(result.success(), result.toString());
        assertEquals("HELLO\nb\n", Files.readString(ws.resolve("out/b.txt")));
        // a's output was consumed on the worker that made it and never reached the master.
        assertTrue(Files.notExists(ws.resolve("out/a.txt")), "a's output reached the master");
      }
      p.destroy();
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "serve did not stop on SIGTERM");
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void aSecretFileThatIsADirectory_isSaidToBeOne_notToBeMissing() throws Exception {
    Path folder = Files.createDirectories(dir.resolve("secrets"));
    var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> ServeCommand.readSecret(folder));
    assertEquals("secret file " + folder + " is not a regular file but a directory",
        e.getMessage());
    var missing = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> ServeCommand.readSecret(dir.resolve("missing")));
    assertEquals("secret file " + dir.resolve("missing") + " does not exist", missing.getMessage());
  }

  @Test
  void aMissingHttpTokenFile_isOneLineSayingSo_andExitCode2() throws Exception {
    Files.writeString(dir.resolve("buildnet.json"), "{\"version\": 1, \"targets\": {}}");
    Path secret = Files.writeString(dir.resolve("secret"), "0123456789abcdef0123\n");
    String[] args = {"serve", "-w", dir.toString(), "--secret-file", secret.toString(),
        "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--http-token-file",
        dir.resolve("missing").toString()};
    java.io.StringWriter out = new java.io.StringWriter();
    java.io.StringWriter err = new java.io.StringWriter();
    picocli.CommandLine cli = BuildNetCli.commandLine(args);
    cli.setOut(new java.io.PrintWriter(out));
    cli.setErr(new java.io.PrintWriter(err));

    int code = cli.execute(args);

    assertEquals(2, code, out + "|" + err);
    assertEquals("", out.toString(), "nothing was served");
    assertEquals("error: http token file " + dir.resolve("missing") + " does not exist",
        err.toString().strip());
  }

  @Test
  void listenMustBeHostAndPort() {
    var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> ServeCommand.parse("7890"));
    assertTrue(e.getMessage().contains("HOST:PORT"), e.getMessage());
  }

  /** The first line of serve's output with this prefix, or null if it exits first (60 s bound). */
  private static String firstLineStartingWith(BufferedReader out, String prefix) throws Exception {
    return CompletableFuture.supplyAsync(() -> {
      try {
        for (String l; (l = out.readLine()) != null; ) {
          if (l.startsWith(prefix)) {
            return l;
          }
        }
        return null;
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }).get(60, TimeUnit.SECONDS);
  }
}
