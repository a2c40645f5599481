package dev.buildnet.bench;

import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.internal.protocol.Payloads.StateGet;
import dev.buildnet.internal.master.MasterServer;
import dev.buildnet.internal.transport.PeerConnection;
import dev.buildnet.internal.transport.TcpTransport;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * A master under 1,000 unauthenticated sockets trickling partial prefixes and bodies (from an
 * {@link IdlePeers} process, reconnecting when the master closes them): prints the master JVM's
 * RSS and thread count before and during, and a legitimate client's STATE_GET round trips
 * (p50, p99, max) during. {@code java -Xmx256m -cp benchmarks.jar
 * dev.buildnet.bench.FloodHarness [sockets] [requests]}.
 */
public final class FloodHarness {
  public static void main(String[] args) throws Exception {
    int sockets = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    int requests = args.length > 1 ? Integer.parseInt(args[1]) : 5000;
    byte[] secret = "benchmark secret of 32 bytes!!!!".getBytes(StandardCharsets.UTF_8);
    try (MasterServer master = MasterServer.builder().state(StateBackend.inMemory()).transport(TransportSettings.ofSecret(secret)).start()) {
      InetSocketAddress at = master.localAddress();
      System.out.println("before: " + status());
      Process peers = new ProcessBuilder(
              Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
              "-cp", System.getProperty("java.class.path"), IdlePeers.class.getName(),
              at.getHostString(), Integer.toString(at.getPort()), "0", Integer.toString(sockets),
              HexFormat.of().formatHex(secret))
          .redirectError(ProcessBuilder.Redirect.INHERIT).start();
      String line = new BufferedReader(new InputStreamReader(peers.getInputStream(), StandardCharsets.UTF_8)).readLine();
      System.out.println("flood: " + line);
      try (TcpTransport t = TcpTransport.builder().transport(TransportSettings.ofSecret(secret)).localId("legit").build()) {
        PeerConnection c = t.connect(at, Duration.ofSeconds(30), (conn, m) -> {});
        long[] rtt = new long[requests];
        for (int i = 0; i < requests; i++) {
          long t0 = System.nanoTime();
          c.request(new StateGet("k"), Duration.ofSeconds(30)).get();
          rtt[i] = System.nanoTime() - t0;
          if (i == requests / 2) {
            System.out.println("during: " + status());
          }
        }
        Arrays.sort(rtt);
        System.out.printf("legitimate client, %d round trips during the flood: p50 %.0f us, p99 %.0f us,"
                + " max %.1f ms%n", requests, rtt[requests / 2] / 1e3, rtt[(int) (requests * 0.99)] / 1e3,
            rtt[requests - 1] / 1e6);
      }
      peers.getOutputStream().close();
      peers.waitFor();
    }
  }

  private static String status() throws Exception {
    String rss = Files.readAllLines(Path.of("/proc/self/status")).stream()
        .filter(l -> l.startsWith("VmRSS")).findFirst().orElse("VmRSS: ?").replaceAll("\\s+", " ");
    Runtime rt = Runtime.getRuntime();
    return rss + ", heap used " + (rt.totalMemory() - rt.freeMemory()) / (1 << 20) + " MB, "
        + Thread.activeCount() + " threads";
  }

  private FloodHarness() {}
}
