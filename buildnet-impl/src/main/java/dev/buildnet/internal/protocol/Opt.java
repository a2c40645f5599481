package dev.buildnet.internal.protocol;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a payload record component as optional on the wire: {@code null} means absent, and the
 * encoder omits it. Components without it (and every primitive) are required.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.RECORD_COMPONENT)
@interface Opt {}
