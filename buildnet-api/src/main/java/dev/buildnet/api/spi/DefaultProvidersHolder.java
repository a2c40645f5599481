package dev.buildnet.api.spi;

import java.util.Iterator;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/** Lazily loaded once per class loader; the JVM's class-init lock makes it thread-safe. */
final class DefaultProvidersHolder {
  private DefaultProvidersHolder() {}

  static final DefaultProviders INSTANCE = load();

  private static DefaultProviders load() {
    // Load through the API's own class loader, not the thread context loader: in IDE plugin and
    // build-tool daemons the context loader is often the host's, which cannot see our jars.
    Iterator<DefaultProviders> it =
        ServiceLoader.load(DefaultProviders.class, DefaultProviders.class.getClassLoader())
            .iterator();
    try {
      if (it.hasNext()) {
        return it.next();
      }
    } catch (ServiceConfigurationError e) {
      throw new IllegalStateException("buildnet-impl is on the class path but failed to load", e);
    }
    throw new IllegalStateException(
        "no BuildNet implementation found: add dev.buildnet:buildnet-impl to the class path");
  }
}
