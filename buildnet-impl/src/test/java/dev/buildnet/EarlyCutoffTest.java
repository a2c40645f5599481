package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Early cutoff (docs/CACHE-KEY.md): a dependent's key covers the digest of its dependencies'
 * outputs, so a dependency that re-runs and writes the same bytes leaves its dependents cached;
 * a dependency that declares no outputs is keyed by its key.
 */
class EarlyCutoffTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path ws;
  private final List<BuildNet> opened = new ArrayList<>();

  @AfterEach
  void closeAll() {
    opened.forEach(BuildNet::close);
  }

  /** A bash target that logs each run to runs.log. */
  private static Target.Builder script(String name, String script) {
    return Target.builder(name)
        .command("bash", "-c", "echo " + name + " >> runs.log; mkdir -p out; " + script)
        .envPassthrough("PATH");
  }

  /**
   * a normalizes its input (drops comments, trailing blanks and empty lines), so a comment-only
   * edit leaves its output bytes unchanged. b and c read their dependency's output without
   * declaring it as an input: only the dependency digest in their keys covers it.
   */
  private List<Target> chain() throws IOException {
    write("src/a.txt", "alpha\nbeta\n");
    return List.of(
        script("a", "sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' src/a.txt > out/a.txt")
            .inputs("src/a.txt").outputs("out/a.txt").build(),
        script("b", "tr a-z A-Z < out/a.txt > out/b.txt").outputs("out/b.txt").dependsOn("a")
            .build(),
        script("c", "cat out/b.txt out/b.txt > out/c.txt").outputs("out/c.txt").dependsOn("b")
            .build());
  }

  private BuildNet start(List<Target> targets) {
    BuildNet net = BuildNet.builder().workspace(ws).targets(targets).localSlots(2)
        .state(StateBackend.sqlite(ws.resolve(".buildnet/state.db"))).start();
    opened.add(net);
    return net;
  }

  private static BuildResult build(BuildNet net, String... targets) throws Exception {
    BuildResult r = net.build(targets).get(60, TimeUnit.SECONDS);
    assertTrue(r.success(), r.errors().toString());
    return r;
  }

  private List<String> runs() throws IOException {
    Path log = ws.resolve("runs.log");
    return Files.exists(log) ? Files.readAllLines(log) : List.of();
  }

  private void clearRuns() throws IOException {
    Files.deleteIfExists(ws.resolve("runs.log"));
  }

  private void write(String rel, String content) throws IOException {
    Path p = ws.resolve(rel);
    Files.createDirectories(p.getParent());
    Files.writeString(p, content);
  }

  private static Status status(BuildResult r, String target) {
    return r.target(target).map(TargetOutcome::status).orElseThrow();
  }

  @Test
  void aCommentOnlyEdit_runsOnlyTheEditedTarget_andExplainSaysWhyItsDependentsHit()
      throws Exception {
    BuildNet net = start(chain());
    build(net, "c");
    assertEquals(List.of("a", "b", "c"), runs());
    clearRuns();

    write("src/a.txt", "# a comment\nalpha   \n\nbeta\n");
    BuildResult edited = build(net, "c");

    assertEquals(List.of("a"), runs(), "exactly the edited target runs");
    assertEquals(Status.BUILT, status(edited, "a"));
    assertEquals(Status.CACHED, status(edited, "b"));
    assertEquals(Status.CACHED, status(edited, "c"));
    assertEquals("ALPHA\nBETA\nALPHA\nBETA\n", Files.readString(ws.resolve("out/c.txt")));
    Explanation a = net.explain("a");
    assertFalse(a.cached());
    assertTrue(a.reasons().stream().anyMatch(s -> s.startsWith("input src/a.txt changed")),
        a.toString());
    Explanation b = net.explain("b");
    assertTrue(b.cached());
    assertEquals(List.of("dependency a re-ran but its outputs are unchanged"), b.reasons(),
        b.toString());
    assertTrue(b.toString().contains("dependency a re-ran but its outputs are unchanged"));
    Explanation c = net.explain("c");
    assertTrue(c.cached());
    assertEquals(List.of(), c.reasons(), "b did not run, so c is a plain hit: " + c);

    BuildResult nullBuild = build(net, "c");
    assertEquals(3, nullBuild.count(Status.CACHED));
    assertEquals(List.of("a"), runs());
    assertEquals(List.of(), net.explain("b").reasons(),
        "in a build where a did not run, b is a plain hit");
  }

  @Test
  void aDependencyWhoseOutputsChange_runsItsDependentsAgain_andExplainSaysSo() throws Exception {
    BuildNet net = start(chain());
    build(net, "c");
    clearRuns();

    write("src/a.txt", "alpha\ngamma\n");
    BuildResult r = build(net, "c");

    assertEquals(List.of("a", "b", "c"), runs());
    assertEquals(3, r.count(Status.BUILT));
    assertEquals("ALPHA\nGAMMA\nALPHA\nGAMMA\n", Files.readString(ws.resolve("out/c.txt")));
    Explanation b = net.explain("b");
    assertFalse(b.cached());
    assertEquals(1, b.reasons().size(), b.toString());
    assertTrue(b.reasons().get(0).startsWith("dependency a's outputs changed: "), b.toString());
    assertTrue(net.explain("c").reasons().get(0).startsWith("dependency b's outputs changed"),
        net.explain("c").toString());
  }

  @Test
  void theOutputDigestOfARestoredDependency_equalsTheOneOfItsRun_inANewInstance()
      throws Exception {
    List<Target> targets = chain();
    build(start(targets), "c");
    opened.forEach(BuildNet::close);
    opened.clear();
    clearRuns();
    Files.delete(ws.resolve("out/a.txt")); // a is restored from the cache, not found in place

    BuildNet again = start(targets);
    write("src/a.txt", "alpha # trailing comment\nbeta\n");
    BuildResult r = build(again, "c");

    assertEquals(List.of("a"), runs());
    assertEquals(2, r.count(Status.CACHED));
    clearRuns();
    BuildResult nullBuild = build(start(targets), "c");
    assertEquals(3, nullBuild.count(Status.CACHED), "a fresh instance keys b from a's record");
    assertEquals(List.of(), runs());
  }

  @Test
  void aDependencyWithoutOutputs_isKeyedByItsKey_soAnyChangeToItRunsItsDependents()
      throws Exception {
    // prep exists for its side effect (side.txt, which it does not declare); a comment-only edit
    // of its input leaves that side effect the same, but nothing tells the engine so.
    write("src/prep.txt", "setting=1\n");
    List<Target> targets = List.of(
        script("prep", "grep -v '^#' src/prep.txt > side.txt").inputs("src/prep.txt").build(),
        script("user", "cp side.txt out/user.txt").outputs("out/user.txt").dependsOn("prep")
            .build());
    BuildNet net = start(targets);
    build(net, "user");
    clearRuns();

    write("src/prep.txt", "# only a comment\nsetting=1\n");
    BuildResult r = build(net, "user");

    assertEquals(List.of("prep", "user"), runs());
    assertEquals(Status.BUILT, status(r, "user"));
    Explanation user = net.explain("user");
    assertFalse(user.cached());
    assertTrue(user.reasons().get(0).startsWith("dependency prep key changed: "), user.toString());

    clearRuns();
    BuildResult nullBuild = build(net, "user");
    assertEquals(2, nullBuild.count(Status.CACHED));
    assertEquals(List.of(), runs());
  }

  @Test
  void anEntryOfTheOldKeyFormat_isACleanMiss_andExplainSaysTheFormatChanged() throws Exception {
    List<Target> targets = chain();
    build(start(targets), "c");
    opened.forEach(BuildNet::close);
    opened.clear();
    clearRuns();

    // Turn the workspace's state into what format version 1 left: b's records under a key of
    // that format, with a valid action record (its blobs are in the store) under that key.
    String oldKey = "xxh64:00000000000000b1";
    try (StateBackend state = sqlite()) {
      String summary = state.getString("target/b").orElseThrow();
      String newKey = summary.substring(0, summary.indexOf(' '));
      byte[] record = state.get("ac/" + newKey).orElseThrow();
      state.delete("ac/" + newKey);
      state.set("ac/" + oldKey, record);
      ObjectNode detail = (ObjectNode) JSON.readTree(state.get("target-detail/b").orElseThrow());
      ObjectNode manifest = (ObjectNode) JSON.readTree(detail.get("manifest").asText());
      manifest.put("v", 1).put("key", oldKey).remove("depKeys");
      detail.put("key", oldKey).put("manifest", manifest.toString());
      state.set("target-detail/b", detail.toString().getBytes(StandardCharsets.UTF_8));
      state.setString("target/b", oldKey + " hit");
    }

    BuildNet net = start(targets);
    BuildResult r = build(net, "c");

    assertEquals(List.of("b"), runs(), "b's old-format entry is a miss, and nothing else runs");
    assertEquals(Status.BUILT, status(r, "b"));
    assertEquals(Status.CACHED, status(r, "c"), "b wrote the same bytes: c still hits");
    Explanation b = net.explain("b");
    assertFalse(b.cached());
    assertEquals(oldKey, b.previousKey());
    assertEquals(List.of("the cache key format changed (version 1 -> 2), so results cached"
        + " before it are not reused"), b.reasons());
  }

  private StateBackend sqlite() {
    return StateBackend.sqlite(ws.resolve(".buildnet/state.db"));
  }
}
