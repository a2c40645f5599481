package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A real Bazel (Debian's {@code bazel-bootstrap}, 4.2.3) against {@code /ac/} and {@code /cas/}:
 * a workspace of genrules is built once (every action's result uploaded), expunged, and built
 * again, which must take every action from the remote cache. Offline: genrules only, loopback.
 * Regression for one {@code BulkTransferException} on upload in 401 actions.
 */
class BazelRemoteCacheTest {
  static final int RULES = 300;

  @Test
  void genrules_afterCleanExpunge_areAllRemoteCacheHits() throws Exception {
    Path tmp = Files.createTempDirectory("buildnet-bazel-");
    Path ws = Files.createDirectories(tmp.resolve("ws"));
    Path root = tmp.resolve("root");
    try (Fixture f = Fixture.withToken()) {
      Files.writeString(ws.resolve("WORKSPACE"), "workspace(name = \"bench\")\n");
      StringBuilder build = new StringBuilder();
      for (int i = 0; i < RULES; i++) {
        // Every tenth rule depends on the one before, so outputs also travel as inputs.
        String srcs = i % 10 == 9 ? "srcs = [\":g" + (i - 1) + "\"], " : "";
        String cmd = i % 10 == 9 ? "cat $(SRCS) > $@; echo rule " + i + " >> $@"
            : "echo rule " + i + " > $@";
        build.append("genrule(name = \"g").append(i).append("\", ").append(srcs)
            .append("outs = [\"g").append(i).append(".txt\"], cmd = \"").append(cmd).append("\")\n");
      }
      Files.writeString(ws.resolve("BUILD"), build);
      // The system rc stays: Debian's points Bazel at its install base. HOME is the temp dir, so
      // no user rc applies; --max_idle_secs bounds a server left behind if shutdown fails.
      List<String> startup = List.of("bazel", "--output_user_root=" + root,
          "--max_idle_secs=300");
      List<String> flags = List.of("--remote_cache=http://127.0.0.1:" + f.http.port(),
          "--remote_header=Authorization=Bearer " + Fixture.TOKEN,
          "--spawn_strategy=local", "--noshow_progress", "--color=no", "--curses=no",
          "--remote_timeout=60");
      Map<String, String> env = Map.of("HOME", tmp.toString());
      try {
        RealClient.Run first = RealClient.run(cmd(startup, List.of("build"), flags, "//:all"),
            ws, env, tmp.resolve("build1.log"));
        assertEquals(0, first.exit(), first.output());
        assertFalse(first.output().contains("WARNING: Remote Cache"), first.output());
        assertFalse(first.output().contains("BulkTransferException"), first.output());

        RealClient.Run clean = RealClient.run(cmd(startup, List.of("clean", "--expunge"),
            List.of(), null), ws, env, tmp.resolve("clean.log"));
        assertEquals(0, clean.exit(), clean.output());

        RealClient.Run second = RealClient.run(cmd(startup, List.of("build"), flags, "//:all"),
            ws, env, tmp.resolve("build2.log"));
        assertEquals(0, second.exit(), second.output());
        assertEquals(RULES, second.number("(\\d+) remote cache hit"), second.output());
        Path out = ws.resolve("bazel-bin").resolve("g19.txt");
        assertEquals("rule 18\nrule 19\n", Files.readString(out, StandardCharsets.UTF_8));
      } finally {
        RealClient.run(cmd(startup, List.of("shutdown"), List.of(), null), ws, env,
            tmp.resolve("shutdown.log"));
        RealClient.deleteTree(tmp);
      }
    }
  }

  private static List<String> cmd(List<String> startup, List<String> command, List<String> flags,
      String target) {
    List<String> argv = new ArrayList<>(startup);
    argv.addAll(command);
    argv.addAll(flags);
    if (target != null) {
      argv.add(target);
    }
    return argv;
  }
}
