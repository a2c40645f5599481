package dev.buildnet.internal.protocol;

import dev.buildnet.api.transport.MessageType;
import dev.buildnet.api.transport.Payload;
import java.lang.invoke.LambdaMetafactory;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Constructor;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * The wire schema of one payload record, derived once from its components: order, snake_case
 * name, MessagePack kind, required or optional. Immutable.
 */
final class Schema {

  /** How a field is written. */
  enum Kind {
    STR("str"),
    INT("int"),
    BOOL("bool"),
    BIN("bin"),
    STR_ARRAY("array of str"),
    STR_MAP("map of str to str"),
    RECORD_ARRAY("array of map");

    final String wire;

    Kind(String wire) {
      this.wire = wire;
    }
  }

  /**
   * One field; {@code element} is the schema of a RECORD_ARRAY's elements. {@code getter} is the
   * record's accessor as a plain interface call (a method handle that is not a constant would go
   * through its adapters and a cast on every call, for every field of every frame encoded).
   */
  record Field(String name, byte[] nameUtf8, Kind kind, boolean required, Schema element,
      Function<Object, Object> getter, String inPayload) {}

  private static final Map<MessageType, Schema> BY_TYPE = byType();

  final Class<?> type;
  final String label;
  /**
   * How a decoding error names the payload ("TARGET_RUN payload"); each field's {@code inPayload}
   * names that field in it, so a decoder builds no text per field read unless it fails.
   */
  final String payloadLabel;
  /** The most fields a record may have: as many as the bits of a long. */
  static final int MAX_FIELDS = Long.SIZE;

  final List<Field> fields;
  private final Map<String, Integer> index;
  private final MethodHandle constructor;

  private Schema(Class<?> type, String label) {
    this.type = type;
    this.label = label;
    this.payloadLabel = label + " payload";
    RecordComponent[] components = type.getRecordComponents();
    if (components.length > MAX_FIELDS) {
      // The decoder marks the fields it has seen in one long.
      throw new IllegalStateException(type + " has " + components.length + " fields; a payload"
          + " record may have at most " + MAX_FIELDS);
    }
    List<Field> list = new ArrayList<>();
    Map<String, Integer> idx = new HashMap<>();
    Class<?>[] types = new Class<?>[components.length];
    MethodHandles.Lookup lookup = MethodHandles.lookup();
    try {
      for (int i = 0; i < components.length; i++) {
        RecordComponent c = components[i];
        types[i] = c.getType();
        String name = snake(c.getName());
        Kind kind = kind(c);
        Schema element =
            kind == Kind.RECORD_ARRAY
                ? new Schema(elementClass(c), label + "." + name + "[]")
                : null;
        boolean required = c.getType().isPrimitive() || !c.isAnnotationPresent(Opt.class);
        Function<Object, Object> getter = getter(lookup, type, c);
        list.add(new Field(name, name.getBytes(StandardCharsets.UTF_8), kind, required, element,
            getter, payloadLabel + " field '" + name + "'"));
        idx.put(name, i);
      }
      Constructor<?> ctor = type.getDeclaredConstructor(types);
      constructor =
          lookup
              .unreflectConstructor(ctor)
              .asType(MethodType.methodType(Object.class, types).changeReturnType(Object.class))
              .asSpreader(Object[].class, types.length)
              .asType(MethodType.methodType(Object.class, Object[].class));
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot derive the schema of " + type, e);
    }
    this.fields = List.copyOf(list);
    this.index = Map.copyOf(idx);
  }

  /** The schema of {@code type}'s payload. */
  static Schema of(MessageType type) {
    Schema s = BY_TYPE.get(type);
    if (s == null) {
      throw new IllegalStateException("no payload record for " + type);
    }
    return s;
  }

  /** The index of the field named {@code name}, or -1. */
  int indexOf(String name) {
    Integer i = index.get(name);
    return i == null ? -1 : i;
  }

  /**
   * The index of the field whose name has the UTF-8 bytes {@code name}, or -1; {@code hint} is
   * checked first (the field after the last one matched: senders write fields in schema order,
   * leaving out those without a value).
   * Lets the decoder match a key without making a String of it.
   */
  int indexOf(byte[] name, int hint) {
    return indexOf(name, name.length, hint);
  }

  /** As {@link #indexOf(byte[], int)} for the name in {@code name[0, length)}. */
  int indexOf(byte[] name, int length, int hint) {
    if (hint >= 0 && hint < fields.size() && named(fields.get(hint), name, length)) {
      return hint;
    }
    for (int i = 0; i < fields.size(); i++) {
      if (named(fields.get(i), name, length)) {
        return i;
      }
    }
    return -1;
  }

  private static boolean named(Field f, byte[] name, int length) {
    byte[] n = f.nameUtf8();
    return n.length == length && Arrays.equals(n, 0, length, name, 0, length);
  }

  Object get(Field field, Object record) {
    return field.getter.apply(record);
  }

  /** {@code c}'s accessor as a {@code Function} (primitive values boxed). */
  @SuppressWarnings("unchecked")
  private static Function<Object, Object> getter(MethodHandles.Lookup lookup, Class<?> type,
      RecordComponent c) throws ReflectiveOperationException {
    MethodHandle accessor = lookup.unreflect(c.getAccessor());
    Class<?> value = c.getType().isPrimitive()
        ? MethodType.methodType(c.getType()).wrap().returnType() : c.getType();
    try {
      return (Function<Object, Object>) LambdaMetafactory.metafactory(lookup, "apply",
              MethodType.methodType(Function.class), MethodType.methodType(Object.class, Object.class),
              accessor, MethodType.methodType(value, type))
          .getTarget().invokeExact();
    } catch (ReflectiveOperationException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable e) {
      throw new IllegalStateException("cannot make the accessor of " + c, e);
    }
  }

  /**
   * Builds the record from field values in component order.
   *
   * @throws IllegalArgumentException if the record's constructor rejects the values
   */
  Object construct(Object[] values) {
    try {
      return constructor.invokeExact(values);
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable e) {
      throw new IllegalStateException(e);
    }
  }

  static String snake(String camel) {
    StringBuilder b = new StringBuilder();
    for (char ch : camel.toCharArray()) {
      if (Character.isUpperCase(ch)) {
        b.append('_').append(Character.toLowerCase(ch));
      } else {
        b.append(ch);
      }
    }
    return b.toString().toLowerCase(Locale.ROOT);
  }

  private static Kind kind(RecordComponent c) {
    Class<?> t = c.getType();
    if (t == String.class) {
      return Kind.STR;
    } else if (t == long.class || t == Long.class) {
      return Kind.INT;
    } else if (t == boolean.class || t == Boolean.class) {
      return Kind.BOOL;
    } else if (t == byte[].class) {
      return Kind.BIN;
    } else if (t == Map.class && typeArg(c, 0) == String.class && typeArg(c, 1) == String.class) {
      return Kind.STR_MAP;
    } else if (t == List.class && typeArg(c, 0) == String.class) {
      return Kind.STR_ARRAY;
    } else if (t == List.class && typeArg(c, 0) instanceof Class<?> e && e.isRecord()) {
      return Kind.RECORD_ARRAY;
    }
    throw new IllegalStateException("no wire kind for " + c);
  }

  private static Class<?> elementClass(RecordComponent c) {
    return (Class<?>) typeArg(c, 0);
  }

  private static Type typeArg(RecordComponent c, int i) {
    return c.getGenericType() instanceof ParameterizedType p ? p.getActualTypeArguments()[i] : null;
  }

  private static Map<MessageType, Class<? extends Payload>> classes() {
    Map<MessageType, Class<? extends Payload>> map = new EnumMap<>(MessageType.class);
    for (Class<?> nested : Payloads.class.getDeclaredClasses()) {
      if (nested.isRecord() && Payload.class.isAssignableFrom(nested)) {
        @SuppressWarnings("unchecked")
        Class<? extends Payload> p = (Class<? extends Payload>) nested;
        map.put(typeOf(p), p);
      }
    }
    for (MessageType t : MessageType.values()) {
      if (!map.containsKey(t)) {
        throw new IllegalStateException("no payload record for " + t);
      }
    }
    return Collections.unmodifiableMap(map);
  }

  private static MessageType typeOf(Class<? extends Payload> p) {
    // type() needs an instance and constructors validate, so records are named after their type
    // (BuildRequest is BUILD_REQUEST); a test checks every record's type() agrees.
    String name = p.getSimpleName();
    if (name.equals("ErrorReply")) {
      return MessageType.ERROR;
    }
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < name.length(); i++) {
      char ch = name.charAt(i);
      if (i > 0 && Character.isUpperCase(ch)) {
        b.append('_');
      }
      b.append(Character.toUpperCase(ch));
    }
    return MessageType.valueOf(b.toString());
  }

  private static Map<MessageType, Schema> byType() {
    Map<MessageType, Schema> map = new EnumMap<>(MessageType.class);
    classes().forEach((t, c) -> map.put(t, new Schema(c, t.name())));
    return Collections.unmodifiableMap(map);
  }
}
