package dev.buildnet.internal.master;

import dev.buildnet.client.BlobTransferException;
import dev.buildnet.client.BuildRefusedException;
import dev.buildnet.client.RemoteBuild;
import dev.buildnet.client.RemoteBuildResult;
import dev.buildnet.client.RemoteClient;
import dev.buildnet.client.RemoteSubscription;
import dev.buildnet.internal.client.RemoteBlobs;
import dev.buildnet.internal.worker.BlobClient;
import dev.buildnet.worker.Worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Pins the public surface of the remote package: growing it is a decision. */
class RemoteExportsTest {
  @Test
  void remotePackage_exportsTheServerTheClientAndTheirValues() throws Exception {
    Path dir = Path.of(MasterServer.class.getProtectionDomain().getCodeSource().getLocation().toURI())
        .resolve("dev/buildnet/remote");
    Set<String> names = new TreeSet<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
        String simple = file.getFileName().toString().replace(".class", "");
        Class<?> type = Class.forName("dev.buildnet.remote." + simple, false, getClass().getClassLoader());
        boolean visible = Modifier.isPublic(type.getModifiers())
            && (type.getEnclosingClass() == null || Modifier.isPublic(type.getEnclosingClass().getModifiers()));
        if (visible && !type.isAnonymousClass() && !type.isLocalClass()) {
          names.add(simple);
        }
      }
    }
    assertEquals(Set.of("BlobClient", "BlobTransferException", "BuildRefusedException",
        "BuildService", "BuildService$Options", "Dispatcher", "Dispatcher$Placement", "Dispatcher$Result",
        "Dispatcher$WorkerLostException", "MasterServer", "MasterServer$Builder", "RemoteBlobs",
        "RemoteBuild", "RemoteBuild$Progress", "RemoteBuild$Request", "RemoteBuildResult",
        "RemoteClient", "RemoteClient$Builder", "RemoteSubscription", "Worker", "Worker$Builder",
        "WorkerEvent", "WorkerEvent$Kind", "WorkerInfo", "WorkerListener"),
        names);
  }
}
