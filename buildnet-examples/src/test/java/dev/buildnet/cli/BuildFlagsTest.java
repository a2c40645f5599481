package dev.buildnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code buildnet build} and its flags, run in-process on a real workspace with real processes
 * (cp copies a file per target). Standard output here is a StringWriter, not a terminal, so the
 * output must have no escape sequences.
 */
class BuildFlagsTest {
  private static final String LONG = "gamma-with-a-rather-long-name";
  private static final String WORKSPACE = "{\"version\": 1, \"targets\": {"
      + "\"alpha\": {\"command\": [\"cp\", \"src/a.txt\", \"out/alpha.txt\"],"
      + " \"inputs\": [\"src/a.txt\"], \"outputs\": [\"out/alpha.txt\"]},"
      + "\"beta\": {\"command\": [\"cp\", \"src/b.txt\", \"out/beta.txt\"],"
      + " \"inputs\": [\"src/b.txt\"], \"outputs\": [\"out/beta.txt\"]},"
      + "\"" + LONG + "\": {\"command\": [\"cp\", \"out/alpha.txt\", \"out/gamma.txt\"],"
      + " \"inputs\": [\"out/alpha.txt\"], \"outputs\": [\"out/gamma.txt\"], \"deps\": [\"alpha\"]}"
      + "}}";

  @TempDir Path ws;

  @BeforeEach
  void workspace() throws IOException {
    Files.writeString(ws.resolve("buildnet.json"), WORKSPACE);
    Files.createDirectories(ws.resolve("src"));
    Files.createDirectories(ws.resolve("out"));
    Files.writeString(ws.resolve("src/a.txt"), "a1");
    Files.writeString(ws.resolve("src/b.txt"), "b1");
  }

  private record Run(int code, String out, String err) {
    String all() {
      return out + err;
    }
  }

  /** Runs the CLI with standard output and standard error kept apart. */
  private Run cli(String... args) {
    List<String> argv = new ArrayList<>(List.of(args));
    CommandLine cli = BuildNetCli.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute(argv.toArray(new String[0]));
    return new Run(code, out.toString(), err.toString());
  }

  private Run build(String... flags) {
    List<String> argv = new ArrayList<>(List.of("build", "-w", ws.toString()));
    argv.addAll(List.of(flags));
    Run r = cli(argv.toArray(new String[0]));
    assertFalse(r.all().contains("\u001b"), "escape sequences without a terminal:\n" + r.all());
    return r;
  }

  private static List<String> rows(String output, String status) {
    return output.lines().filter(l -> l.startsWith("  " + status + " ")).toList();
  }

  @Test
  void aFirstBuild_printsARowPerTargetThatRan_alignedOnTheLongestName() {
    Run r = build();

    assertEquals(0, r.code, r.all());
    assertEquals(3, rows(r.out, "built   ").size(), r.out);
    assertTrue(r.out.contains("built 3, cached 0, failed 0, skipped 0"), r.out);
    // The note column starts at the same place for a short and a long name.
    String alpha = rows(r.out, "built   ").stream().filter(l -> l.contains(" alpha ")).findFirst()
        .orElseThrow();
    String gamma = rows(r.out, "built   ").stream().filter(l -> l.contains(LONG)).findFirst()
        .orElseThrow();
    int noteAt = gamma.indexOf(LONG) + LONG.length() + 1;
    assertEquals(' ', alpha.charAt(noteAt - 1), alpha + "\n" + gamma);
    assertTrue(Character.isDigit(alpha.charAt(noteAt)), alpha + "\n" + gamma);
  }

  @Test
  void aFullyCachedBuild_printsNoPerTargetRows_onlyTheSummary() {
    build();

    Run r = build();

    assertEquals(0, r.code, r.all());
    for (String name : List.of("alpha", "beta", LONG)) {
      assertFalse(r.out.lines().anyMatch(l -> l.contains(" " + name)), r.out);
    }
    assertTrue(r.out.contains("built 0, cached 3, failed 0, skipped 0"), r.out);
    assertTrue(r.out.contains("hit ratio 100%, 3/3"), r.out);
  }

  @Test
  void verbose_printsARowForEveryTarget_cachedOnesToo() {
    build();

    Run r = build("--verbose");

    assertEquals(3, rows(r.out, "cached  ").size(), r.out);
  }

  @Test
  void quiet_printsNothingForAGoodBuild() {
    Run r = build("--quiet");

    assertEquals(0, r.code, r.all());
    assertEquals("", r.all());
    assertTrue(Files.exists(ws.resolve("out/gamma.txt")));
  }

  @Test
  void aFailure_printsItsOutputOnce_evenWhenQuiet() throws IOException {
    Files.writeString(ws.resolve("buildnet.json"), "{\"version\": 1, \"targets\": {"
        + "\"broken\": {\"command\": [\"sh\", \"-c\", \"echo boom-marker >&2; exit 3\"]},"
        + "\"after\": {\"command\": [\"true\"], \"deps\": [\"broken\"]}}}");

    for (String flags : List.of("", "--quiet")) {
      Run r = flags.isEmpty() ? build() : build(flags);

      assertEquals(1, r.code, r.all());
      assertEquals(1, r.all().split("boom-marker", -1).length - 1, "printed more than once:\n"
          + r.all());
      if (flags.isEmpty()) {
        assertEquals(1, rows(r.out, "failed  ").size(), r.out);
        assertEquals(1, rows(r.out, "skipped ").size(), r.out);
      } else {
        assertTrue(r.out.startsWith("error: "), "the error is the first line:\n" + r.out);
      }
    }
  }

  @Test
  void theHitRatio_roundsDown_andGivesTheCounts() {
    assertEquals("hit ratio 99%, 999/1000", ConsoleReporter.hitRatio(999, 1));
    assertEquals("hit ratio 0%, 1/1000", ConsoleReporter.hitRatio(1, 999));
    assertEquals("hit ratio 100%, 5/5", ConsoleReporter.hitRatio(5, 0));
    assertEquals("no cache lookups", ConsoleReporter.hitRatio(0, 0));
  }

  @Test
  void json_printsOneResultDocumentOnStandardOutput() throws IOException {
    build();
    Files.writeString(ws.resolve("src/b.txt"), "b2");

    Run r = build("--json");

    assertEquals(0, r.code, r.all());
    JsonNode doc = new ObjectMapper().readTree(r.out); // throws unless it is one JSON document
    assertEquals("buildnet.build-result/1", doc.get("schema").asText());
    assertTrue(doc.get("success").asBoolean());
    assertEquals(3, doc.get("targets").size());
    for (JsonNode t : doc.get("targets")) {
      String name = t.get("name").asText();
      assertEquals(name.equals("beta") ? "built" : "cached", t.get("status").asText(), t.toString());
      assertEquals(name.equals("beta") ? "executed" : "cache", t.get("source").asText());
      assertTrue(t.get("key").asText().contains(":"), t.toString());
      assertTrue(t.get("durationMs").isNumber(), t.toString());
      JsonNode output = t.get("outputs").get(0);
      assertTrue(output.get("path").asText().startsWith("out/"), t.toString());
      assertTrue(output.get("digest").asText().contains(":"), t.toString());
      assertEquals(2, output.get("sizeBytes").asLong(), t.toString());
    }
    assertEquals(1, doc.get("counts").get("built").asInt());
  }

  @Test
  void json_printsTheRowsAndTheSummaryOnStandardError() throws IOException {
    build();
    Files.writeString(ws.resolve("src/b.txt"), "b2");

    Run r = build("--json");

    assertEquals(0, r.code, r.all());
    new ObjectMapper().readTree(r.out); // standard output is the document alone
    // docs/CLI.md: "rows and errors go to standard error".
    assertEquals(1, rows(r.err, "built").size(), r.err);
    assertTrue(rows(r.err, "built").get(0).contains("beta"), r.err);
    assertTrue(r.err.lines().anyMatch(l -> l.startsWith("built 1, cached 2, failed 0")), r.err);
    assertFalse(r.err.contains("\"schema\""), r.err);
  }

  @Test
  void json_quiet_printsNothingButTheDocument() throws IOException {
    Run r = build("--json", "-q");

    assertEquals(0, r.code, r.all());
    new ObjectMapper().readTree(r.out);
    assertEquals("", r.err);
  }

  @Test
  void json_hasAnExitCodeOnlyForATargetWhoseCommandRan_notForACachedOne() throws IOException {
    build();
    Files.writeString(ws.resolve("src/b.txt"), "b3");

    Run r = build("--json");

    assertEquals(0, r.code, r.all());
    for (JsonNode t : new ObjectMapper().readTree(r.out).get("targets")) {
      if (t.get("status").asText().equals("cached")) {
        assertFalse(t.has("exitCode"), "docs/CLI.md: exitCode is present when a command ran: " + t);
      } else {
        assertEquals(0, t.get("exitCode").asInt(), t.toString());
      }
    }
  }

  @Test
  void json_isAlsoValidForPythonsParser() throws Exception {
    Run r = build("--json");
    Path doc = ws.resolve("result.json");
    Files.writeString(doc, r.out);

    Process p = new ProcessBuilder("python3", "-c",
        "import json,sys; d=json.load(open(sys.argv[1])); print(d['counts']['built'])",
        doc.toString()).redirectErrorStream(true).start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals("3", new String(p.getInputStream().readAllBytes()).strip());
    assertEquals(0, p.exitValue());
  }

  @Test
  void dryRun_runsNothing_andSaysWhatWouldRunAndWhy() throws IOException {
    Run first = build("--dry-run");

    assertEquals(0, first.code, first.all());
    assertFalse(Files.exists(ws.resolve("out/alpha.txt")), "a dry run ran alpha");
    assertFalse(Files.exists(ws.resolve("out/beta.txt")), "a dry run ran beta");
    assertTrue(first.out.contains("no earlier build of this target is recorded"), first.out);
    assertTrue(first.out.contains("3 of 3 targets would run"), first.out);

    build();
    Files.writeString(ws.resolve("src/a.txt"), "a2");
    Run second = build("--dry-run");

    assertEquals("a1", Files.readString(ws.resolve("out/alpha.txt")), "a dry run ran alpha");
    assertEquals(1, second.out.lines().filter(l -> l.matches("  run +alpha +input src/a.txt"
        + " changed.*")).count(), second.out);
    assertEquals(1, rows(second.out, "run     ").stream().filter(l -> l.contains(LONG)).count(),
        second.out);
    assertTrue(second.out.contains("2 of 3 targets would run, 1 would come from the cache"),
        second.out);
    assertFalse(second.out.contains("beta"), second.out);
  }

  @Test
  void dryRunJson_isAPlanDocument() throws IOException {
    build();

    Run r = build("--dry-run", "--json", "beta");

    JsonNode doc = new ObjectMapper().readTree(r.out);
    assertEquals("buildnet.plan/1", doc.get("schema").asText());
    assertEquals("cached", doc.get("targets").get(0).get("action").asText());
    assertEquals(0, doc.get("wouldRun").asInt());
  }

  @Test
  void force_runsCachedTargetsAgain_dependenciesIncluded() {
    build();

    Run r = build("--force", LONG);

    assertTrue(r.out.contains("built 2, cached 0"), r.out);
    Run noCache = build("--no-cache", "beta");
    assertTrue(noCache.out.contains("built 1, cached 0"), noCache.out);
  }

  @Test
  void noCache_neitherReadsNorWritesTheCache() throws IOException {
    build("beta");
    Files.writeString(ws.resolve("src/b.txt"), "b2");

    Run noCache = build("--no-cache", "beta");
    Run after = build("beta");

    assertTrue(noCache.out.contains("built 1, cached 0"), noCache.out);
    assertEquals("b2", Files.readString(ws.resolve("out/beta.txt")));
    assertTrue(after.out.contains("built 1, cached 0"), "--no-cache wrote a result:\n" + after.out);
    Run cached = build("beta");
    assertTrue(cached.out.contains("built 0, cached 1"), cached.out);
  }

  @Test
  void graph_printsDotOrJson_andBuildsNothing() throws IOException {
    Run dot = build("--graph");

    assertTrue(dot.out.startsWith("digraph buildnet {"), dot.out);
    assertTrue(dot.out.contains("\"" + LONG + "\" -> \"alpha\";"), dot.out);
    assertFalse(Files.exists(ws.resolve("out/alpha.txt")));

    Run json = build("--graph=json", LONG);
    JsonNode doc = new ObjectMapper().readTree(json.out);
    assertEquals("buildnet.graph/1", doc.get("schema").asText());
    assertEquals(2, doc.get("targets").size(), json.out);
    assertEquals("alpha", doc.get("targets").get(1).get("deps").get(0).asText());
  }

  @Test
  void aWorkspaceWithoutTargets_buildsNothing_andExits0() throws IOException {
    Files.writeString(ws.resolve("buildnet.json"), "{\"version\": 1, \"targets\": {}}");

    Run r = build();

    assertEquals(0, r.code, r.all());
    assertTrue(r.out.contains("nothing to build: the workspace declares no targets"), r.all());
    assertFalse(r.err.contains("error"), r.err);
  }

  @Test
  void filterByGlob_keepsTheMatchingTargets() {
    Run r = build("--filter", "b*");

    assertTrue(r.out.contains("building 1 target"), r.out);
    assertTrue(Files.exists(ws.resolve("out/beta.txt")));
    assertFalse(Files.exists(ws.resolve("out/alpha.txt")));

    Run none = build("--filter", "zzz*");
    assertEquals(0, none.code, none.all());
    assertTrue(none.out.contains("no target matches --filter zzz*"), none.out);
  }

  @Test
  void filterAffectedSinceARef_keepsChangedTargetsAndTheirDependents() throws Exception {
    git("init", "-q");
    git("add", "-A");
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base");
    Files.writeString(ws.resolve("src/a.txt"), "a2");

    Run r = build("--filter", "[HEAD]");

    assertEquals(0, r.code, r.all());
    assertTrue(r.out.contains("building 2 targets"), r.out);
    assertTrue(Files.exists(ws.resolve("out/gamma.txt")));
    assertFalse(Files.exists(ws.resolve("out/beta.txt")), "beta did not change");
  }

  private void git(String... args) throws Exception {
    List<String> argv = new ArrayList<>(List.of("git", "-C", ws.toString()));
    argv.addAll(List.of(args));
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), new String(p.getInputStream().readAllBytes()));
  }

  @Test
  void list_printsTheTargetsInDependencyOrder() throws IOException {
    Run r = cli("list", "-w", ws.toString());

    assertEquals(0, r.code, r.all());
    List<String> names = r.out.lines().map(l -> l.split(" +")[0]).toList();
    assertTrue(names.indexOf("alpha") < names.indexOf(LONG), r.out);
    assertTrue(r.out.contains(LONG + " <- alpha"), r.out);

    Run json = cli("list", "-w", ws.toString(), "--json");
    assertEquals(3, new ObjectMapper().readTree(json.out).get("targets").size());
  }

  @Test
  void clean_deletesOutputs_thenTheCache() throws IOException {
    build();
    Files.writeString(ws.resolve("keep.txt"), "not an output");

    Run outputs = cli("clean", "-w", ws.toString());

    assertEquals(0, outputs.code, outputs.all());
    assertTrue(outputs.out.contains("deleted 3 output paths"), outputs.out);
    assertFalse(Files.exists(ws.resolve("out/alpha.txt")));
    assertTrue(Files.exists(ws.resolve("keep.txt")));
    assertTrue(Files.exists(ws.resolve("src/a.txt")));
    Run restored = build();
    assertTrue(restored.out.contains("built 0, cached 3"), "the cache was kept:\n" + restored.out);
    assertEquals("a1", Files.readString(ws.resolve("out/gamma.txt")));

    Run cache = cli("clean", "--cache", "-w", ws.toString());

    assertEquals(0, cache.code, cache.all());
    assertTrue(cache.out.contains("emptied the cache"), cache.out);
    assertTrue(Files.exists(ws.resolve("out/alpha.txt")), "--cache keeps the outputs");
    Run rebuilt = build();
    assertTrue(rebuilt.out.contains("built 3, cached 0"), rebuilt.out);

    Run all = cli("clean", "--all", "-w", ws.toString());
    assertTrue(all.out.contains("deleted 3 output paths") && all.out.contains("emptied"), all.out);
  }

  @Test
  void versionAndHelp_areCommands() {
    Run v = cli("version");
    assertEquals(0, v.code, v.all());
    assertTrue(v.out.startsWith("buildnet 0."), v.out);
    assertTrue(v.out.contains("java " + System.getProperty("java.version")), v.out);
    assertEquals(v.out.lines().findFirst().orElseThrow(), cli("--version").out.strip());

    Run help = cli("help", "build");
    assertEquals(0, help.code, help.all());
    for (String flag : List.of("--dry-run", "--graph", "--json", "--force", "--no-cache",
        "--filter", "--keep-going", "--verbose", "--quiet")) {
      assertTrue(help.out.contains(flag), flag + " missing from:\n" + help.out);
    }
    Run top = cli("help");
    for (String command : List.of("list", "clean", "version", "help")) {
      assertTrue(top.out.contains("  " + command + " "), command + " missing from:\n" + top.out);
    }
  }

  @Test
  void gc_takesSizesWithUnits() {
    assertEquals(10L << 30, ByteSize.parse("10G"));
    assertEquals(500L << 20, ByteSize.parse("500M"));
    assertEquals(64L << 10, ByteSize.parse("64k"));
    assertEquals(3L << 29, ByteSize.parse("1.5GiB"));
    assertEquals(1234, ByteSize.parse("1234"));
    for (String bad : List.of("10X", "G", "", "1..5G", "ten")) {
      IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
          IllegalArgumentException.class, () -> ByteSize.parse(bad));
      assertTrue(e.getMessage().contains("is not a size"), e.getMessage());
    }
    build();

    Run r = cli("gc", "-w", ws.toString(), "--max-bytes", "500M");

    assertEquals(0, r.code, r.all());
    assertTrue(r.out.startsWith("removed 0 blobs"), r.out);
    Run none = cli("gc", "-w", ws.toString(), "--max-bytes", "0");
    assertTrue(none.out.matches("(?s)removed [1-9][0-9]* blobs.*0 B remain.*"), none.out);
  }

  @Test
  void terminal_isNeverLiveWithoutAConsole_orWithNoColor() {
    assertFalse(Terminal.isLive(name -> null, null));
    assertFalse(Terminal.isLive(name -> name.equals("NO_COLOR") ? "1" : null, null));
  }
}
