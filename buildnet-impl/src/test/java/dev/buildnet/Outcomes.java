package dev.buildnet;

import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import java.util.Map;
import java.util.TreeMap;

/** Test helper: a build's outcomes as target name → status, sorted so failures read well. */
final class Outcomes {
  private Outcomes() {}

  static Map<String, Status> statuses(BuildResult r) {
    Map<String, Status> all = new TreeMap<>();
    for (TargetOutcome t : r.targets()) {
      all.put(t.target(), t.status());
    }
    return all;
  }
}
