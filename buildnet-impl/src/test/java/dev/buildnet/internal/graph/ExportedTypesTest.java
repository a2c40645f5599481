package dev.buildnet.internal.graph;

import dev.buildnet.graph.BuildGraph;
import dev.buildnet.graph.InvalidGraphException;
import dev.buildnet.graph.MissingInputException;
import dev.buildnet.graph.Target;
import dev.buildnet.graph.UnknownTargetException;
import dev.buildnet.graph.WorkspaceFile;
import dev.buildnet.graph.WorkspaceFileException;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.buildnet.internal.cache.CacheKeyBuilder;
import java.io.IOException;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Pins the public surface of the engine, graph and cache packages: growing it is a decision. */
class ExportedTypesTest {

  private static Set<String> publicTypes(Class<?> anchor) throws IOException, URISyntaxException {
    Path dir = Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI())
        .resolve(anchor.getPackageName().replace('.', '/'));
    Set<String> names = new TreeSet<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
        String simple = file.getFileName().toString().replace(".class", "");
        try {
          Class<?> type = Class.forName(
              anchor.getPackageName() + "." + simple, false, anchor.getClassLoader());
          boolean visible = Modifier.isPublic(type.getModifiers())
              && (type.getEnclosingClass() == null
                  || Modifier.isPublic(type.getEnclosingClass().getModifiers()));
          if (visible && !type.isAnonymousClass() && !type.isLocalClass()) {
            names.add(simple);
          }
        } catch (ClassNotFoundException e) {
          throw new AssertionError(e);
        }
      }
    }
    return names;
  }

  @Test
  void enginePackage_exportsOnlyTheFacadeAndItsResults() throws Exception {
    assertEquals(Set.of("BuildFuture", "BuildNet", "BuildNet$Builder", "Explanation", "GcReport", "DispatchStats",
        "WorkspaceLockedException", "BuildNet$CacheUse", "PlannedTarget"),
        publicTypes(dev.buildnet.BuildNet.class));
  }

  @Test
  void graphPackage_exportsOnlyTheModel() throws Exception {
    assertEquals(Set.of("BuildGraph", "InputResolver", "InvalidGraphException",
        "MissingInputException", "Target", "Target$Builder", "Target$Bundler",
        "UnknownTargetException", "WorkspaceFile", "WorkspaceFileException"),
        publicTypes(Target.class));
  }

  @Test
  void cachePackage_exportsTheKeyFunctionAndTheStores() throws Exception {
    assertEquals(Set.of("ActionCache", "ActionManifest", "ActionManifest$Output", "DiskBlobStore",
        "DiskBlobStore$Entry", "DiskBlobStore$Upload", "BuildOnce", "BuildOnce$Turn",
        "CacheKeyBuilder", "CacheKeyBuilder$Builder", "FileDigester", "HttpBlobStore",
        "KeyManifest", "KeyManifest$BundlerKey", "Outputs", "Outputs$Collected",
        "Outputs$OutputException", "Platform", "TieredBlobStore"),
        publicTypes(CacheKeyBuilder.class));
  }

  @Test
  void peersPackage_exportsTheEventsAndTheView() throws Exception {
    assertEquals(Set.of("PeerBuilds", "PeerBuilds$Build", "PeerBuilds$Peer",
        "PeerBuilds$Subscription", "PeerEvents", "PeerEvents$Event",
        "PeerEvents$Publisher"),
        publicTypes(dev.buildnet.internal.peers.PeerEvents.class));
  }
}
