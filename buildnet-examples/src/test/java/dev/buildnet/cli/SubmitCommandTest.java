package dev.buildnet.cli;

import dev.buildnet.internal.addon.AddOns;

import dev.buildnet.api.transport.TransportSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.BuildNet;
import dev.buildnet.graph.Target;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code buildnet submit} against a real master on a loopback port. */
class SubmitCommandTest {
  private static final String SECRET = "0123456789abcdef0123456789abcdef";

  @TempDir Path dir;
  private BuildNet net;
  private Path secretFile;
  private String master;

  @BeforeEach
  void startMaster() throws Exception {
    secretFile = Files.writeString(dir.resolve("secret"), SECRET + "\n");
    Path ws = Files.createDirectories(dir.resolve("ws"));
    net = BuildNet.builder().workspace(ws).localSlots(1)
        .targets(List.of(
            Target.builder("hello").command("bash", "-c", "echo hi; printf hello > hello.txt")
                .envPassthrough("PATH").outputs("hello.txt").build(),
            Target.builder("many").command("bash", "-c",
                "mkdir -p many; for i in $(seq 1 30); do echo $i > many/f$i.txt; done; echo made")
                .envPassthrough("PATH").outputs("many").build(),
            Target.builder("broken").command("bash", "-c", "echo oops >&2; exit 4")
                .envPassthrough("PATH").build()))
        .listen(new InetSocketAddress("127.0.0.1", 0))
        .transport(TransportSettings.ofSecret(SECRET.getBytes(StandardCharsets.UTF_8))).start();
    InetSocketAddress a = AddOns.master(net).orElseThrow().localAddress();
    master = "127.0.0.1:" + a.getPort();
  }

  @AfterEach
  void stop() {
    net.close();
  }

  private String[] run(String... targets) {
    StringWriter text = new StringWriter();
    String[] args = new String[5 + targets.length];
    System.arraycopy(new String[] {"submit", "--master", master, "--secret-file",
        secretFile.toString()}, 0, args, 0, 5);
    System.arraycopy(targets, 0, args, 5, targets.length);
    int code = BuildNetCli.run(new PrintWriter(text), args);
    return new String[] {String.valueOf(code), text.toString()};
  }

  /** Runs submit with its standard output and error apart; the error text when it exits 1. */
  private String failingSubmit(String masterAddress, Path secret) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    String[] args = {"submit", "--master", masterAddress, "--secret-file", secret.toString(),
        "hello"};
    picocli.CommandLine cli = BuildNetCli.commandLine(args);
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));

    int code = cli.execute(args);

    assertEquals(1, code, out + "|" + err);
    assertEquals("", out.toString());
    assertEquals(1, err.toString().lines().count(), err.toString());
    return err.toString();
  }

  @Test
  void anUnreachableMaster_isOneErrorLineOnStandardError_andNothingOnStandardOutput() {
    int port = AddOns.master(net).orElseThrow().localAddress().getPort();
    net.close(); // nothing listens there any more

    String err = failingSubmit("127.0.0.1:" + port, secretFile);

    assertTrue(err.startsWith("error: the master at 127.0.0.1:" + port + " is unreachable"), err);
  }

  @Test
  void aWrongSecret_isSaidToBeRefusedByTheMaster_notUnreachable() throws Exception {
    Path wrong = Files.writeString(dir.resolve("wrong"), "another-secret-of-enough-length!\n");

    String err = failingSubmit(master, wrong);

    assertTrue(err.startsWith("error: the master at " + master
        + " refused this client: AUTH_FAILED: "), err);
    assertTrue(err.contains("the shared secrets differ"), err);
    assertFalse(err.contains("unreachable"), err);
  }

  @Test
  void aSucceedingBuildPrintsItsEventsAndOutputsAndExitsZero() {
    String[] r = run("hello");
    assertEquals("0", r[0], r[1]);
    assertTrue(r[1].contains("hello: started"), r[1]);
    assertTrue(r[1].contains("hello | hi"), r[1]);
    assertTrue(r[1].contains("hello: built"), r[1]);
    assertTrue(r[1].contains("succeeded in "), r[1]);
    assertTrue(r[1].contains("hello.txt  5 bytes  xxh64:"), r[1]);
  }

  @Test
  void noLogs_printsNoOutputLines_andOnlyTheNumberOfOutputs() {
    String[] r = run("--no-logs", "hello");

    assertEquals("0", r[0], r[1]);
    assertTrue(r[1].contains("hello: built"), r[1]);
    assertTrue(r[1].contains("1 output file (5 B)"), r[1]);
    assertFalse(r[1].contains("hello | hi"), r[1]);
    assertFalse(r[1].contains("hello.txt"), r[1]);
    assertFalse(r[1].contains(" | "), r[1]);
  }

  @Test
  void manyOutputs_areCountedAndOnlyTheFirstListed() {
    String[] r = run("many");

    assertEquals("0", r[0], r[1]);
    assertTrue(r[1].contains("30 output files"), r[1]);
    assertEquals(SubmitCommand.LISTED_OUTPUTS,
        r[1].lines().filter(l -> l.matches("  many/f\\d+\\.txt .*")).count(), r[1]);
    assertTrue(r[1].contains("  ... and 10 more"), r[1]);

    String[] quiet = run("--no-logs", "many");
    assertFalse(quiet[1].contains("many/f"), quiet[1]);
    assertFalse(quiet[1].contains("made"), quiet[1]);
  }

  @Test
  void aFailingBuildNamesTheTargetAndExitsOne() {
    String[] r = run("broken");
    assertEquals("1", r[0], r[1]);
    assertTrue(r[1].contains("broken ! oops"), r[1]);
    assertTrue(r[1].contains("failed targets: broken"), r[1]);
  }

  @Test
  void anUnknownTargetIsRefusedWithExitOne() {
    String[] r = run("nope");
    assertEquals("1", r[0], r[1]);
    assertTrue(r[1].contains("refused") && r[1].contains("nope"), r[1]);
  }
}
