package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.addon.AddOns;
import dev.buildnet.tck.StreamTransport;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The public {@link MessageCodec} is enough to carry BuildNet across a process boundary: a master
 * here and a worker in a child JVM ({@link StreamWorkerMain}), each with its own {@link
 * StreamTransport} (plain sockets, frames by the public codec only), build two targets that only
 * the worker can run.
 */
class StreamTransportBuildTest {
  private static final long WAIT = 120; // a child JVM starts slowly on a loaded machine

  @TempDir Path ws;
  @TempDir Path tmp;
  private final StreamTransport transport = new StreamTransport(MessageCodec.standard());
  private final MasterWorkers open = new MasterWorkers(null, WAIT);
  private Process child;

  @AfterEach
  void closeAll() throws Exception {
    if (child != null) {
      child.destroyForcibly(); // only if the test failed before stopping it
    }
    open.close();
    transport.close();
  }

  @Test
  void a_master_and_a_worker_in_another_process_build_through_a_stream_transport()
      throws Exception {
    Files.createDirectories(ws.resolve("src"));
    Files.writeString(ws.resolve("src/in.txt"), "alpha\n");
    BuildNet net = open.track(BuildNet.builder().workspace(ws).localSlots(0) // only workers run
        .targets(List.of(
            Target.builder("a").command("bash", "-c", "tr a-z A-Z < src/in.txt > out/a.txt")
                .envPassthroughUnhashed("PATH").inputs("src/in.txt").outputs("out/a.txt").build(),
            Target.builder("b").command("bash", "-c", "cat out/a.txt out/a.txt > out/b.txt")
                .envPassthroughUnhashed("PATH").inputs("out/a.txt").outputs("out/b.txt")
                .dependsOn("a").build()))
        .listen(new InetSocketAddress("127.0.0.1", 0))
        .transport(TransportSettings.ofSecret(MasterWorkers.SECRET), transport)
        .start());
    InetSocketAddress at = net.listenAddress().orElseThrow();
    Path log = tmp.resolve("child.log");
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    child = new ProcessBuilder(java.toString(), "-Xmx256m", "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
        StreamWorkerMain.class.getName(), at.getHostString(), String.valueOf(at.getPort()),
        tmp.resolve("work").toString(), "child-worker")
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    open.awaitRegistered(net, "child-worker");

    BuildResult r = net.build("b").get(WAIT, TimeUnit.SECONDS);

    assertTrue(r.success(), "build failed: " + r + "\n" + Files.readString(log));
    assertEquals(2, r.count(TargetOutcome.Status.BUILT), "both targets ran: " + r.targets());
    assertEquals("ALPHA\nALPHA\n", Files.readString(ws.resolve("out/b.txt")));
    assertEquals(List.of("child-worker"),
        AddOns.master(net).orElseThrow().workers().stream().map(i -> i.id()).toList());
    assertTrue(transport.framesReceived.get() > 5, "frames in: " + transport.framesReceived);

    child.getOutputStream().close(); // the child's signal to stop
    assertTrue(child.waitFor(WAIT, TimeUnit.SECONDS), "the worker process did not stop");
    String out = Files.readString(log, StandardCharsets.UTF_8);
    assertEquals(0, child.exitValue(), out);
    assertTrue(out.contains("connected"), out);
    assertTrue(out.matches("(?s).*frames sent=[1-9]\\d* received=[1-9]\\d*.*"),
        "the worker's own transport carried its frames: " + out);
    child = null;
  }
}
