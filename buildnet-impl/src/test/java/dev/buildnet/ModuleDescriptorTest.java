package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.BuildNetException;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Pins what a host can reach: the packages the API and impl modules export (read from their
 * compiled {@code module-info}), the public types in them, and that no public signature of an
 * exported type mentions an internal one. Growing the surface is a decision: change this test.
 */
class ModuleDescriptorTest {

  static final Set<String> API_EXPORTS = Set.of("dev.buildnet.api", "dev.buildnet.api.blob",
      "dev.buildnet.api.build", "dev.buildnet.api.bundle", "dev.buildnet.api.exec",
      "dev.buildnet.api.hash", "dev.buildnet.api.state", "dev.buildnet.api.transport");

  /** The bridge to the default implementations, which only impl implements. */
  static final Map<String, Set<String>> API_QUALIFIED =
      Map.of("dev.buildnet.api.spi", Set.of("dev.buildnet.impl"));

  static final Set<String> IMPL_EXPORTS = Set.of("dev.buildnet", "dev.buildnet.blob",
      "dev.buildnet.bundle", "dev.buildnet.client", "dev.buildnet.exec", "dev.buildnet.graph",
      "dev.buildnet.redis", "dev.buildnet.state", "dev.buildnet.worker");

  /** Internals only BuildNet's own add-ons read. */
  static final Map<String, Set<String>> IMPL_QUALIFIED = Map.of(
      "dev.buildnet.internal.addon", Set.of("dev.buildnet.jetty", "dev.buildnet.examples"),
      "dev.buildnet.internal.cache", Set.of("dev.buildnet.jetty", "dev.buildnet.examples"),
      "dev.buildnet.internal.events", Set.of("dev.buildnet.jetty", "dev.buildnet.examples"),
      "dev.buildnet.internal.master", Set.of("dev.buildnet.jetty", "dev.buildnet.examples"),
      "dev.buildnet.internal.peers", Set.of("dev.buildnet.jetty", "dev.buildnet.examples"),
      "dev.buildnet.internal.watch", Set.of("dev.buildnet.jetty"));

  @Test
  void theApiModule_exportsItsPackagesAndNothingElse() throws Exception {
    ModuleDescriptor api = descriptor(BuildNetException.class);
    assertEquals("dev.buildnet.api", api.name());
    assertEquals(API_EXPORTS, unqualified(api));
    assertEquals(API_QUALIFIED, qualified(api));
    assertTrue(api.requires().stream().allMatch(r -> r.name().startsWith("java.")),
        "the API module requires only the JDK: " + api.requires());
  }

  @Test
  void theImplModule_exportsTheFacadeAndTheDefaultProviders_andInternalsOnlyToItsAddOns()
      throws Exception {
    ModuleDescriptor impl = descriptor(BuildNet.class);
    assertEquals("dev.buildnet.impl", impl.name());
    assertEquals(IMPL_EXPORTS, unqualified(impl));
    assertEquals(IMPL_QUALIFIED, qualified(impl));
    Set<String> sourcePackages = sourcePackages(Path.of("src/main/java"));
    assertTrue(sourcePackages.containsAll(IMPL_EXPORTS), "exported packages exist: " + sourcePackages);
    assertEquals(Set.of(), sourcePackages.stream()
            .filter(p -> !IMPL_EXPORTS.contains(p) && !p.startsWith("dev.buildnet.internal"))
            .collect(Collectors.toSet()),
        "every package a host cannot reach lives under dev.buildnet.internal");
    for (String pkg : sourcePackages) {
      assertTrue(Files.exists(Path.of("src/main/java", pkg.replace('.', '/'), "package-info.java")),
          pkg + " says what it is for in a package-info.java");
    }
  }

  @Test
  void aHostReachesAFewDozenTypes() throws Exception {
    Set<String> reachable = new TreeSet<>();
    reachable.addAll(publicTypes(BuildNetException.class, API_EXPORTS));
    reachable.addAll(publicTypes(BuildNet.class, IMPL_EXPORTS));
    long topLevel = reachable.stream().filter(n -> !n.contains("$")).count();
    // 35 in the API (SPIs, values, the event type) and 29 in impl (facade, roles, providers, and
    // MessageCodec with its FrameException: a host's transport that crosses a process boundary
    // must encode frames, and writing its own codec would be a second, unhardened decoder).
    assertTrue(topLevel <= 64, topLevel + " top-level public types: " + reachable);
  }

  @Test
  void noExportedSignatureMentionsAnInternalType() throws Exception {
    Set<String> allowed = new TreeSet<>(API_EXPORTS);
    allowed.addAll(IMPL_EXPORTS);
    Map<String, String> leaks = new TreeMap<>();
    Set<String> types = new TreeSet<>(publicTypes(BuildNetException.class, API_EXPORTS));
    types.addAll(publicTypes(BuildNet.class, IMPL_EXPORTS));
    for (String name : types) {
      Class<?> type = Class.forName(name, false, getClass().getClassLoader());
      for (Member m : members(type)) {
        for (Type t : mentioned(m)) {
          Class<?> raw = raw(t);
          if (raw == null || raw.isPrimitive()) {
            continue;
          }
          while (raw.isArray()) {
            raw = raw.getComponentType();
          }
          String pkg = raw.getPackageName();
          if (pkg.startsWith("dev.buildnet") && !allowed.contains(pkg)) {
            leaks.put(name + "#" + m.getName(), raw.getName());
          }
        }
      }
    }
    assertEquals(Map.of(), leaks, "public signatures of exported types name internal types");
  }

  /** Packages with Java sources (the build's output may hold benchmark classes too). */
  private static Set<String> sourcePackages(Path root) throws Exception {
    try (Stream<Path> files = Files.walk(root)) {
      return files.filter(f -> f.toString().endsWith(".java"))
          .filter(f -> !f.getFileName().toString().equals("module-info.java"))
          .map(f -> root.relativize(f.getParent()).toString().replace('/', '.'))
          .collect(Collectors.toCollection(TreeSet::new));
    }
  }

  private static ModuleDescriptor descriptor(Class<?> anchor) throws Exception {
    Path root = Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
    return ModuleFinder.of(root).findAll().iterator().next().descriptor();
  }

  private static Set<String> unqualified(ModuleDescriptor d) {
    return d.exports().stream().filter(e -> !e.isQualified()).map(ModuleDescriptor.Exports::source)
        .collect(Collectors.toCollection(TreeSet::new));
  }

  private static Map<String, Set<String>> qualified(ModuleDescriptor d) {
    return d.exports().stream().filter(ModuleDescriptor.Exports::isQualified)
        .collect(Collectors.toMap(ModuleDescriptor.Exports::source, ModuleDescriptor.Exports::targets));
  }

  /** Public types (nested ones only if every enclosing type is public) in {@code packages}. */
  static Set<String> publicTypes(Class<?> anchor, Set<String> packages) throws Exception {
    Path location = Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
    Set<String> names = new TreeSet<>();
    // A directory when one module is tested, the module's jar in a full reactor build.
    try (FileSystem jar = Files.isDirectory(location) ? null : FileSystems.newFileSystem(location)) {
      Path root = jar == null ? location : jar.getPath("/");
      for (String pkg : packages) {
        Path dir = root.resolve(pkg.replace('.', '/'));
        try (Stream<Path> files = Files.list(dir)) {
          for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
            String simple = f.getFileName().toString().replace(".class", "");
            if (simple.equals("package-info")) {
              continue;
            }
            Class<?> type = Class.forName(pkg + "." + simple, false, anchor.getClassLoader());
            if (reachable(type)) {
              names.add(type.getName());
            }
          }
        }
      }
    }
    return names;
  }

  private static boolean reachable(Class<?> type) {
    for (Class<?> t = type; t != null; t = t.getEnclosingClass()) {
      if (!Modifier.isPublic(t.getModifiers()) || t.isAnonymousClass() || t.isLocalClass()) {
        return false;
      }
    }
    return true;
  }

  private static Set<Member> members(Class<?> type) {
    Set<Member> out = new java.util.LinkedHashSet<>();
    boolean subclassable = !Modifier.isFinal(type.getModifiers()) && !type.isSealed();
    for (Method m : type.getDeclaredMethods()) {
      if (visible(m.getModifiers(), subclassable) && !m.isSynthetic() && !m.isBridge()) {
        out.add(m);
      }
    }
    for (Constructor<?> c : type.getDeclaredConstructors()) {
      if (visible(c.getModifiers(), subclassable) && !c.isSynthetic()) {
        out.add(c);
      }
    }
    for (Field f : type.getDeclaredFields()) {
      if (visible(f.getModifiers(), subclassable) && !f.isSynthetic()) {
        out.add(f);
      }
    }
    return out;
  }

  private static boolean visible(int modifiers, boolean subclassable) {
    return Modifier.isPublic(modifiers) || (subclassable && Modifier.isProtected(modifiers));
  }

  private static Set<Type> mentioned(Member m) {
    Set<Type> out = new java.util.LinkedHashSet<>();
    if (m instanceof Method method) {
      collect(method.getGenericReturnType(), out);
    }
    if (m instanceof Executable e) {
      for (Type t : e.getGenericParameterTypes()) {
        collect(t, out);
      }
      for (Type t : e.getGenericExceptionTypes()) {
        collect(t, out);
      }
    }
    if (m instanceof Field f) {
      collect(f.getGenericType(), out);
    }
    return out;
  }

  private static void collect(Type t, Set<Type> out) {
    if (!out.add(t)) {
      return;
    }
    if (t instanceof ParameterizedType p) {
      collect(p.getRawType(), out);
      for (Type a : p.getActualTypeArguments()) {
        collect(a, out);
      }
    } else if (t instanceof GenericArrayType g) {
      collect(g.getGenericComponentType(), out);
    } else if (t instanceof WildcardType w) {
      for (Type b : w.getUpperBounds()) {
        collect(b, out);
      }
      for (Type b : w.getLowerBounds()) {
        collect(b, out);
      }
    } else if (t instanceof TypeVariable<?> v) {
      for (Type b : v.getBounds()) {
        collect(b, out);
      }
    }
  }

  private static Class<?> raw(Type t) {
    if (t instanceof Class<?> c) {
      return c;
    }
    if (t instanceof ParameterizedType p) {
      return (Class<?>) p.getRawType();
    }
    return null;
  }
}
