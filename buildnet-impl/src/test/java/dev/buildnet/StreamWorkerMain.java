package dev.buildnet;

import dev.buildnet.api.transport.TransportSettings;
import dev.buildnet.tck.StreamTransport;
import dev.buildnet.worker.Worker;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Run by {@link StreamTransportBuildTest} in a child JVM: a worker {@code args[3]} whose frames go
 * through a {@link StreamTransport} of its own to the master at {@code args[0]:args[1]}, working in
 * {@code args[2]}. Prints {@code connected} once the master accepted it, and stops when its
 * standard input ends (the test closes it), printing how many frames it sent and received.
 */
public final class StreamWorkerMain {
  private StreamWorkerMain() {}

  public static void main(String[] args) throws Exception {
    TransportSettings settings = TransportSettings.ofSecret(MasterWorkers.SECRET);
    StreamTransport transport =
        new StreamTransport(MessageCodec.withMaxFrameBytes(settings.maxFrameBytes()));
    try (transport;
        Worker worker = BuildNet.worker().workerId(args[3]).cpuSlots(2).memoryMb(512)
            .workDir(Path.of(args[2])).transport(settings, transport)
            .connect(args[0], Integer.parseInt(args[1]))) {
      if (!worker.awaitConnected(Duration.ofSeconds(120))) {
        System.out.println("not connected within 120 s");
        System.exit(2);
      }
      System.out.println("connected");
      System.out.flush();
      while (System.in.read() >= 0) {
        // the test closes our standard input to stop us
      }
    }
    System.out.println("frames sent=" + transport.framesSent.get()
        + " received=" + transport.framesReceived.get());
  }
}
