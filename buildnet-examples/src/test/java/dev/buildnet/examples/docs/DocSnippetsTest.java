package dev.buildnet.examples.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.StringWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every fenced {@code java} block of README.md and docs/*.md compiles against this module's test
 * classpath, and the runnable ones run in a temporary workspace.
 *
 * <p>Each block must be preceded by a marker comment saying how to treat it, so a new block cannot
 * be skipped silently:
 * <pre>
 * &lt;!-- snippet: run; given dir, secretFile; expect "lib: BUILT" --&gt;
 * &lt;!-- snippet: compile; given net (needs a Redis server) --&gt;
 * </pre>
 * A block is its {@code import} lines followed by statements, which become the body of a method
 * whose parameters are the {@code given} names: {@code dir} (an empty workspace directory),
 * {@code secretFile} (a file holding a 32-byte secret, outside the workspace) and {@code net} (a
 * {@code BuildNet}; compile only). {@code run} runs the method and, with {@code expect}, checks that
 * it printed that text; {@code compile} only compiles it, for blocks that need what a test does not
 * have (the parenthesis says what).
 */
class DocSnippetsTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Pattern FENCE = Pattern.compile("(?m)^```java\\n(.*?)^```\\n", Pattern.DOTALL);
  private static final Pattern MARKER = Pattern.compile(
      "<!-- snippet: (run|compile)((?:; given [a-zA-Z, ]+)?)((?:; expect \"[^\"]*\")?)[^>]*-->\\s*$");
  private static final Map<String, String> GIVEN = Map.of(
      "dir", "java.nio.file.Path dir",
      "secretFile", "java.nio.file.Path secretFile",
      "net", "dev.buildnet.BuildNet net");

  @TempDir Path tmp;

  record Snippet(String where, boolean run, List<String> given, String expect, String code) {}

  static List<Path> documents() throws IOException {
    List<Path> docs = new ArrayList<>();
    docs.add(ROOT.resolve("README.md"));
    try (Stream<Path> s = Files.list(ROOT.resolve("docs"))) {
      s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(docs::add);
    }
    return docs;
  }

  static List<Snippet> snippets(Path doc) throws IOException {
    String text = Files.readString(doc);
    List<Snippet> out = new ArrayList<>();
    Matcher m = FENCE.matcher(text);
    while (m.find()) {
      String before = text.substring(0, m.start());
      int line = before.split("\n", -1).length;
      String where = ROOT.relativize(doc) + ":" + line;
      String previous = before.stripTrailing();
      previous = previous.substring(previous.lastIndexOf('\n') + 1);
      Matcher marker = MARKER.matcher(previous);
      if (!marker.find()) {
        fail(where + ": a ```java block needs a marker on the line before it, e.g."
            + " <!-- snippet: run; given dir --> or <!-- snippet: compile (why not run) -->;"
            + " the line there is: " + previous);
      }
      List<String> given = new ArrayList<>();
      if (!marker.group(2).isEmpty()) {
        for (String g : marker.group(2).substring("; given ".length()).split(",")) {
          String name = g.strip();
          if (!GIVEN.containsKey(name)) {
            fail(where + ": unknown given '" + name + "'; known: " + GIVEN.keySet());
          }
          given.add(name);
        }
      }
      String expect = marker.group(3).isEmpty() ? null
          : marker.group(3).substring("; expect \"".length(), marker.group(3).length() - 1);
      out.add(new Snippet(where, marker.group(1).equals("run"), given, expect, m.group(1)));
    }
    return out;
  }

  @TestFactory
  List<DynamicTest> everyJavaBlockOfTheDocsCompilesAndTheRunnableOnesRun() throws IOException {
    List<DynamicTest> tests = new ArrayList<>();
    int count = 0;
    for (Path doc : documents()) {
      for (Snippet s : snippets(doc)) {
        String className = "Snippet" + count++;
        tests.add(DynamicTest.dynamicTest(s.where() + (s.run() ? " runs" : " compiles"),
            () -> check(s, className)));
      }
    }
    assertTrue(count >= 2, "found only " + count + " java blocks: is the fence pattern right?");
    return tests;
  }

  private void check(Snippet s, String className) throws Exception {
    StringBuilder imports = new StringBuilder();
    StringBuilder body = new StringBuilder();
    for (String line : s.code().split("\n", -1)) {
      (line.startsWith("import ") ? imports : body).append(line).append('\n');
    }
    List<String> params = s.given().stream().map(GIVEN::get).toList();
    // Imports stay on their lines, the body starts on the next: javac's line numbers stay readable.
    String source = imports + "public class " + className + " { public static void run("
        + String.join(", ", params) + ") throws Exception {\n" + body + "}}\n";
    Path src = Files.createDirectories(tmp.resolve("src"));
    Path classes = Files.createDirectories(tmp.resolve("classes"));
    Path file = src.resolve(className + ".java");
    Files.writeString(file, source);

    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
    StringWriter out = new StringWriter();
    String classpath = System.getProperty("surefire.test.class.path",
        System.getProperty("java.class.path"));
    try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, Locale.ROOT,
        StandardCharsets.UTF_8)) {
      boolean ok = javac.getTask(out, files, diagnostics,
          List.of("-classpath", classpath, "-d", classes.toString(), "--release", "17",
              "-proc:none"),
          null, files.getJavaFileObjects(file)).call();
      if (!ok) {
        StringBuilder why = new StringBuilder(s.where() + " does not compile:\n");
        diagnostics.getDiagnostics().forEach(d -> why.append("  line ").append(d.getLineNumber())
            .append(": ").append(d.getMessage(Locale.ROOT)).append('\n'));
        why.append("as compiled:\n").append(source);
        fail(why.toString());
      }
    }
    if (!s.run()) {
      return;
    }
    Map<String, Object> values = new LinkedHashMap<>();
    Path dir = Files.createDirectories(tmp.resolve("workspace"));
    values.put("dir", dir);
    Path secret = tmp.resolve("secret");
    Files.writeString(secret, "a shared secret of 32 bytes!!!!!\n");
    values.put("secretFile", secret);
    Object[] args = s.given().stream().map(values::get).toArray();
    try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()},
        getClass().getClassLoader())) {
      Method run = null;
      for (Method candidate : loader.loadClass(className).getMethods()) {
        if (candidate.getName().equals("run")) {
          run = candidate;
        }
      }
      String printed = capturingStdout(run, args, s.where());
      if (s.expect() != null) {
        assertTrue(printed.contains(s.expect()),
            s.where() + " should print '" + s.expect() + "' but printed:\n" + printed);
      }
    }
  }

  private static String capturingStdout(Method run, Object[] args, String where) throws Exception {
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream tee = new PrintStream(new OutputStream() {
      @Override
      public synchronized void write(int b) {
        captured.write(b);
        original.write(b);
      }

      @Override
      public synchronized void write(byte[] b, int off, int len) {
        captured.write(b, off, len);
        original.write(b, off, len);
      }
    }, true, StandardCharsets.UTF_8);
    System.setOut(tee);
    try {
      run.invoke(null, args);
    } catch (InvocationTargetException e) {
      throw new AssertionError(where + " threw " + e.getCause(), e.getCause());
    } finally {
      System.setOut(original);
    }
    synchronized (tee) {
      return captured.toString(StandardCharsets.UTF_8);
    }
  }

  private static final Pattern WORKSPACE_BLOCK = Pattern.compile(
      "(?m)^<!-- snippet: buildnet.json -->\\n```json\\n(.*?)^```\\n", Pattern.DOTALL);

  /** Blocks marked {@code <!-- snippet: buildnet.json -->} are whole workspace files that load. */
  @TestFactory
  List<DynamicTest> everyMarkedBuildnetJsonBlockLoads() throws IOException {
    List<DynamicTest> tests = new ArrayList<>();
    for (Path doc : documents()) {
      Matcher m = WORKSPACE_BLOCK.matcher(Files.readString(doc));
      while (m.find()) {
        String json = m.group(1);
        String where = ROOT.relativize(doc) + " at offset " + m.start();
        tests.add(DynamicTest.dynamicTest(where + " loads", () -> {
          Path ws = Files.createDirectories(tmp.resolve("ws-" + Integer.toHexString(json.hashCode())));
          Files.writeString(ws.resolve("buildnet.json"), json);
          assertFalse(dev.buildnet.graph.WorkspaceFile.load(ws).targets().isEmpty(), where);
        }));
      }
    }
    assertFalse(tests.isEmpty(), "docs/MIGRATING.md has a buildnet.json block");
    return tests;
  }

  @TestFactory
  List<DynamicTest> theMarkerIsRequired() {
    // A guard on the guard: an unmarked block is an error, not a skip.
    return List.of(DynamicTest.dynamicTest("unmarked block fails", () -> {
      Path doc = tmp.resolve("X.md");
      Files.writeString(doc, "text\n\n```java\nint x = 1;\n```\n");
      AssertionError e = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class,
          () -> snippets(doc));
      assertTrue(e.getMessage().contains("needs a marker"), e.getMessage());
      Files.writeString(doc, "<!-- snippet: run; given dir; expect \"hi\" -->\n```java\nint x;\n```\n");
      List<Snippet> ok = snippets(doc);
      assertEquals(1, ok.size());
      assertEquals(List.of("dir"), ok.get(0).given());
      assertEquals("hi", ok.get(0).expect());
    }));
  }
}
