package dev.buildnet.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Pins what {@code buildnet-api} exports: adding a public type is a deliberate act that updates
 * this list (and the CHANGELOG), never an accident.
 */
class PublicApiTest {

  private static final List<String> EXPECTED =
      List.of(
          "dev.buildnet.api.BuildNetException",
          "dev.buildnet.api.NotStartedException",
          "dev.buildnet.api.NotStartedException$Reason",
          "dev.buildnet.api.blob.BlobException",
          "dev.buildnet.api.blob.BlobException$Reason",
          "dev.buildnet.api.blob.BlobStore",
          "dev.buildnet.api.build.Artifact",
          "dev.buildnet.api.build.BuildContext",
          "dev.buildnet.api.build.BuildError",
          "dev.buildnet.api.build.BuildEvent",
          "dev.buildnet.api.build.BuildEvent$BuildFinished",
          "dev.buildnet.api.build.BuildEvent$BuildStarted",
          "dev.buildnet.api.build.BuildEvent$Kind",
          "dev.buildnet.api.build.BuildEvent$TargetFinished",
          "dev.buildnet.api.build.BuildEvent$TargetLog",
          "dev.buildnet.api.build.BuildEvent$TargetStarted",
          "dev.buildnet.api.build.BuildEvent$TargetWaiting",
          "dev.buildnet.api.build.BuildEvent$WorkerJoined",
          "dev.buildnet.api.build.BuildEvent$WorkerLeft",
          "dev.buildnet.api.build.BuildListener",
          "dev.buildnet.api.build.BuildMetrics",
          "dev.buildnet.api.build.BuildMetrics$Cache",
          "dev.buildnet.api.build.BuildMetrics$Phases",
          "dev.buildnet.api.build.BuildMetrics$Resources",
          "dev.buildnet.api.build.BuildOrigin",
          "dev.buildnet.api.build.BuildOrigin$Kind",
          "dev.buildnet.api.build.BuildResult",
          "dev.buildnet.api.build.BuildStatus",
          "dev.buildnet.api.build.TargetOutcome",
          "dev.buildnet.api.build.TargetOutcome$Status",
          "dev.buildnet.api.bundle.Availability",
          "dev.buildnet.api.bundle.BundlerAdapter",
          "dev.buildnet.api.exec.CommandResult",
          "dev.buildnet.api.exec.CommandResult$Outcome",
          "dev.buildnet.api.exec.CommandSpec",
          "dev.buildnet.api.exec.OutputListener",
          "dev.buildnet.api.exec.OutputListener$Stream",
          "dev.buildnet.api.exec.RunningCommand",
          "dev.buildnet.api.exec.ShellProvider",
          "dev.buildnet.api.hash.Digest",
          "dev.buildnet.api.hash.HashProvider",
          "dev.buildnet.api.hash.Hasher",
          "dev.buildnet.api.spi.DefaultProviders",
          "dev.buildnet.api.state.Lock",
          "dev.buildnet.api.state.StateBackend",
          "dev.buildnet.api.state.StateCapabilities",
          "dev.buildnet.api.state.StateException",
          "dev.buildnet.api.state.StateException$Reason",
          "dev.buildnet.api.state.Subscription",
          "dev.buildnet.api.transport.ErrorCode",
          "dev.buildnet.api.transport.Message",
          "dev.buildnet.api.transport.MessageType",
          "dev.buildnet.api.transport.Payload",
          "dev.buildnet.api.transport.Transport",
          "dev.buildnet.api.transport.Transport$Acceptor",
          "dev.buildnet.api.transport.Transport$Connection",
          "dev.buildnet.api.transport.Transport$Connection$Handler",
          "dev.buildnet.api.transport.Transport$Listener",
          "dev.buildnet.api.transport.TransportSettings",
          "dev.buildnet.api.transport.TransportSettings$Builder");

  @Test
  void exportedTypesAreExactlyTheDocumentedOnes() throws Exception {
    assertEquals(new TreeSet<>(EXPECTED), publicTypes());
  }

  @Test
  void everyExceptionDescendsFromTheOneRoot() throws Exception {
    for (String name : publicTypes()) {
      Class<?> type = Class.forName(name);
      if (Throwable.class.isAssignableFrom(type)) {
        assertTrue(
            BuildNetException.class.isAssignableFrom(type), name + " must extend BuildNetException");
      }
    }
  }

  private static TreeSet<String> publicTypes()
      throws IOException, URISyntaxException, ClassNotFoundException {
    Path classes =
        Path.of(BuildNetException.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    TreeSet<String> names = new TreeSet<>();
    try (Stream<Path> files = Files.walk(classes)) {
      for (Path file : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".class"))::iterator) {
        String rel = classes.relativize(file).toString();
        String name = rel.substring(0, rel.length() - ".class".length()).replace('/', '.');
        if (name.endsWith("package-info") || name.equals("module-info")) {
          continue;
        }
        Class<?> type = Class.forName(name, false, PublicApiTest.class.getClassLoader());
        if (isExported(type)) {
          names.add(name);
        }
      }
    }
    return names;
  }

  private static boolean isExported(Class<?> type) {
    for (Class<?> c = type; c != null; c = c.getDeclaringClass()) {
      if (!Modifier.isPublic(c.getModifiers())) {
        return false;
      }
    }
    return !type.isAnonymousClass() && !type.isSynthetic();
  }
}
