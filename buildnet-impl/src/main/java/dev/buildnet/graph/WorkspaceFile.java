package dev.buildnet.graph;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Reads a workspace's targets from its {@code buildnet.json}.
 *
 * <h2>Format (version 1)</h2>
 * <pre>{@code
 * {
 *   "version": 1,
 *   "targets": {
 *     "lib": {
 *       "command": ["javac", "-d", "out/lib", "lib/src/A.java"],
 *       "cwd": ".",
 *       "env": {"LANG": "C.UTF-8"},
 *       "envPassthrough": ["PATH", "JAVA_HOME"],
 *       "inputs": ["lib/src", "!lib/src/gen", "lib/*.properties"],
 *       "outputs": ["out/lib"],
 *       "deps": [],
 *       "requires": ["jdk17"],
 *       "cpu": 1,
 *       "memoryMb": 512,
 *       "timeoutSeconds": 60,
 *       "retries": 0,
 *       "priority": 0,
 *       "cacheable": true
 *     },
 *     "web": {
 *       "bundler": {"adapter": "esbuild", "entrypoints": ["src/main.ts"], "outDir": "web/dist",
 *                   "options": {"minify": "true"}},
 *       "cwd": "web",
 *       "inputs": ["web/src/**"],
 *       "deps": ["lib"]
 *     }
 *   }
 * }
 * }</pre>
 * See {@code docs/WORKSPACE.md} for a longer example and the glob syntax. Each target has
 * exactly one of {@code command} and {@code bundler}; every other field is optional and means what the same setting of {@link Target.Builder} means ({@code cpu} is
 * {@code cpuSlots}, {@code deps} is {@code dependsOn}, {@code requires} lists capabilities). Paths
 * are relative to the workspace root, except bundler entrypoints, which are relative to
 * {@code cwd}. A {@code null} value is the same as leaving the field out.
 *
 * <h2>Strictness</h2>
 * Unknown fields, duplicate keys, values of the wrong type (no string-to-number coercion, no
 * fractional numbers for integers) and trailing content are errors, reported as
 * {@link InvalidGraphException} with {@code file:line:column} and the JSON path. A file that
 * parses but declares invalid targets or an invalid graph gets one {@link InvalidGraphException}
 * listing every problem.
 *
 * <p>Stateless and thread-safe; loading blocks on reading the file.
 *
 * @since 0.1
 */
public final class WorkspaceFile {
  /** The file name looked for at the workspace root. */
  public static final String FILE_NAME = "buildnet.json";

  /** The format version this class reads. */
  public static final int VERSION = 1;

  private static final Pattern SIMPLE_FIELD = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  // ObjectReader is immutable and thread-safe once built; this is configuration, not state.
  private static final ObjectReader READER = createReader();

  private WorkspaceFile() {}

  private static ObjectReader createReader() {
    JsonMapper mapper = JsonMapper.builder()
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
        .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
        .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
        .build();
    for (LogicalType type : LogicalType.values()) {
      mapper.coercionConfigFor(type)
          .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail)
          .setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail);
    }
    // Strings stay strings and numbers numbers; the Fail above would otherwise also forbid those.
    mapper.coercionConfigFor(LogicalType.Textual)
        .setCoercion(CoercionInputShape.String, CoercionAction.TryConvert)
        .setCoercion(CoercionInputShape.EmptyString, CoercionAction.TryConvert);
    mapper.coercionConfigFor(LogicalType.Integer)
        .setCoercion(CoercionInputShape.Integer, CoercionAction.TryConvert);
    mapper.coercionConfigFor(LogicalType.Boolean)
        .setCoercion(CoercionInputShape.Boolean, CoercionAction.TryConvert);
    return mapper.readerFor(WorkspaceJson.class);
  }

  /**
   * Loads {@code workspaceRoot/buildnet.json} and validates the graph it declares.
   *
   * @throws InvalidGraphException if the file is missing, unreadable or malformed (its location
   *     in {@code file()}, {@code line()}, {@code column()}), or listing every invalid target and
   *     graph problem
   */
  public static BuildGraph load(Path workspaceRoot) {
    if (workspaceRoot == null) {
      throw new IllegalArgumentException("workspaceRoot is null");
    }
    Path file = workspaceRoot.resolve(FILE_NAME);
    try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      return read(reader, file.toString(), file);
    } catch (NoSuchFileException e) {
      throw new InvalidGraphException(file, 0, 0,
          "no workspace file: " + file.toAbsolutePath() + " does not exist", e);
    } catch (IOException e) {
      throw new InvalidGraphException(file, 0, 0,
          "cannot read workspace file " + file.toAbsolutePath() + ": " + e, e);
    }
  }

  /**
   * Parses workspace JSON given as text.
   *
   * @param source how to name the text in errors, e.g. a file name
   * @throws InvalidGraphException if it is malformed, or listing every invalid target and graph
   *     problem
   */
  public static BuildGraph parse(String json, String source) {
    if (json == null) {
      throw new IllegalArgumentException("json is null");
    }
    try {
      return read(new StringReader(json), source == null ? "<json>" : source, null);
    } catch (IOException e) {
      throw new IllegalStateException("reading a string failed", e);
    }
  }

  private static BuildGraph read(Reader reader, String source, Path file) throws IOException {
    WorkspaceJson workspace;
    try {
      workspace = READER.readValue(reader);
    } catch (JsonProcessingException e) {
      throw describe(e, source, file);
    }
    if (workspace == null) {
      throw new InvalidGraphException(file, 0, 0,
          source + ": expected a JSON object with \"version\" and \"targets\" but found null", null);
    }
    if (workspace.version() == null) {
      throw new InvalidGraphException(file, 0, 0,
          source + ": missing required field 'version' (this BuildNet reads version " + VERSION
              + ")", null);
    }
    if (workspace.version() != VERSION) {
      throw new InvalidGraphException(file, 0, 0,
          source + ": unsupported version " + workspace.version() + "; this BuildNet reads version "
              + VERSION, null);
    }
    if (workspace.targets() == null) {
      throw new InvalidGraphException(file, 0, 0,
          source + ": missing required field 'targets'", null);
    }
    List<Target> targets = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    Set<String> invalid = new LinkedHashSet<>();
    for (Map.Entry<String, TargetJson> entry : workspace.targets().entrySet()) {
      try {
        targets.add(toTarget(entry.getKey(), entry.getValue()));
      } catch (IllegalArgumentException | IllegalStateException e) {
        problems.add(e.getMessage());
        invalid.add(entry.getKey());
      }
    }
    return BuildGraph.validate(targets, source, problems, invalid);
  }

  private static Target toTarget(String name, TargetJson json) {
    Target.Builder b = Target.builder(name);
    if (json == null) {
      throw new IllegalArgumentException("target '" + name + "': declaration is null");
    }
    if (json.command() != null) {
      b.command(json.command());
    }
    if (json.bundler() != null) {
      BundlerJson bundler = json.bundler();
      b.bundler(bundler.adapter(),
          bundler.options() == null ? Map.of() : bundler.options(),
          bundler.entrypoints(),
          bundler.outDir());
    }
    if (json.cwd() != null) {
      b.workingDirectory(json.cwd(), "cwd"); // errors name the field as the file spells it
    }
    if (json.env() != null) {
      json.env().forEach(b::env);
    }
    if (json.envPassthrough() != null) {
      b.envPassthrough(json.envPassthrough().toArray(new String[0]));
    }
    if (json.envPassthroughUnhashed() != null) {
      b.envPassthroughUnhashed(json.envPassthroughUnhashed().toArray(new String[0]));
    }
    if (json.inputs() != null) {
      b.inputs(json.inputs());
    }
    if (json.outputs() != null) {
      b.outputs(json.outputs());
    }
    if (json.deps() != null) {
      b.dependsOn(json.deps());
    }
    if (json.requires() != null) {
      b.requires(json.requires());
    }
    if (json.cpu() != null) {
      b.cpuSlots(json.cpu());
    }
    if (json.memoryMb() != null) {
      b.memoryMb(json.memoryMb());
    }
    if (json.timeoutSeconds() != null) {
      if (json.timeoutSeconds() <= 0) {
        throw new IllegalArgumentException("target '" + name
            + "': timeoutSeconds must be positive but was " + json.timeoutSeconds());
      }
      b.timeout(Duration.ofSeconds(json.timeoutSeconds()));
    }
    if (json.retries() != null) {
      b.retries(json.retries());
    }
    if (json.priority() != null) {
      b.priority(json.priority());
    }
    if (json.cacheable() != null) {
      b.cacheable(json.cacheable());
    }
    return b.build();
  }

  private static InvalidGraphException describe(
      JsonProcessingException e, String source, Path file) {
    JsonLocation location = e.getLocation();
    int line = location == null ? 0 : Math.max(0, location.getLineNr());
    // Columns count from 1, as editors do; Jackson reports 0 for an empty file.
    int column = location == null ? 0 : Math.max(1, location.getColumnNr());
    String where = source + (line > 0 ? ":" + line + ":" + column : "") + ": ";
    String message;
    if (e instanceof UnrecognizedPropertyException u) {
      TreeSet<String> known = new TreeSet<>();
      if (u.getKnownPropertyIds() != null) {
        u.getKnownPropertyIds().forEach(id -> known.add(String.valueOf(id)));
      }
      message = "unknown field '" + u.getPropertyName() + "' at " + path(u)
          + " (known fields: " + String.join(", ", known) + ")";
    } else if (e instanceof JsonMappingException m
        && m.getCause() instanceof InputCoercionException range) {
      message = "invalid value at " + path(m) + ": " + firstLine(range.getOriginalMessage());
    } else if (e instanceof MismatchedInputException m && m.getTargetType() != null) {
      message = "invalid value at " + path(m) + ": expected " + describe(m.getTargetType());
    } else if (e instanceof JsonMappingException m && !(m.getCause() instanceof StreamReadException)) {
      message = "invalid value at " + path(m) + ": " + firstLine(m.getOriginalMessage());
    } else {
      // Databind wraps a parser error met inside a value; report the parser's own words.
      JsonProcessingException parse =
          e.getCause() instanceof StreamReadException cause ? cause : e;
      message = "malformed JSON: " + firstLine(parse.getOriginalMessage());
    }
    return new InvalidGraphException(file, line, column, where + message, e);
  }

  private static String describe(Class<?> type) {
    if (type == Integer.class || type == Long.class || type == int.class || type == long.class) {
      return "a whole number";
    }
    if (type == Boolean.class || type == boolean.class) {
      return "true or false";
    }
    if (type == String.class) {
      return "a string";
    }
    if (java.util.Collection.class.isAssignableFrom(type)) {
      return "an array";
    }
    if (type == WorkspaceJson.class) {
      return "an object with \"version\" and \"targets\"";
    }
    return "an object";
  }

  /** The JSON path of a mapping error, e.g. {@code targets["app:web"].bundler.entrypoints[0]}. */
  private static String path(JsonMappingException e) {
    StringBuilder path = new StringBuilder();
    for (JsonMappingException.Reference ref : e.getPath()) {
      if (ref.getFieldName() != null) {
        String field = ref.getFieldName();
        if (SIMPLE_FIELD.matcher(field).matches()) {
          path.append(path.length() == 0 ? "" : ".").append(field);
        } else {
          path.append("[\"").append(field.replace("\"", "\\\"")).append("\"]");
        }
      } else if (ref.getIndex() >= 0) {
        path.append('[').append(ref.getIndex()).append(']');
      }
    }
    return path.length() == 0 ? "the top level" : path.toString();
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "(no detail)";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }

  record WorkspaceJson(Integer version, LinkedHashMap<String, TargetJson> targets) {}

  record TargetJson(
      List<String> command,
      String cwd,
      Map<String, String> env,
      List<String> envPassthrough,
      List<String> envPassthroughUnhashed,
      List<String> inputs,
      List<String> outputs,
      List<String> deps,
      List<String> requires,
      Integer cpu,
      Long memoryMb,
      Long timeoutSeconds,
      Integer retries,
      Integer priority,
      Boolean cacheable,
      BundlerJson bundler) {}

  record BundlerJson(
      String adapter, List<String> entrypoints, String outDir, Map<String, String> options) {}
}
