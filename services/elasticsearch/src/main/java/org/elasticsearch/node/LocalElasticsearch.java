package org.elasticsearch.node;

import org.elasticsearch.Build;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.IndexScopedSettings;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.settings.SettingsFilter;
import org.elasticsearch.env.Environment;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.MockPluginsService;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginsLoader;
import org.elasticsearch.plugins.PluginsService;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.transport.netty4.Netty4Plugin;
import org.elasticsearch.xcontent.XContentBuilder;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Runs a real single-node Elasticsearch (server + transport-netty4 for HTTP) from the jars on Maven Central.
 *
 * Why this class exists: Maven Central has no ES distribution (no bin/elasticsearch, no modules/ directory), only the
 * server jar, the transport-netty4 jar and the test framework. Production bootstrap loads modules from modules/ in
 * separate module layers; instead we construct the Node the way ES's own MockNode does (it lives in this package
 * because NodeConstruction/NodeServiceProvider are package-private), with plugins from the classpath loaded by
 * MockPluginsService from org.elasticsearch.test:framework. Unlike MockNode we do not touch ESTestCase (its static
 * initialiser randomises system properties and turns on paranoid Netty leak detection) and we swap in no mock service.
 * No SecurityManager / entitlements are installed: this is a local dev/CI server bound to loopback only.
 *
 * GET / (cluster info, used by clients' info()/ping()) lives in ES's rest-root module, which is not published on Maven
 * Central, so {@link RootInfoPlugin} re-adds that one endpoint with the standard response shape and real node values.
 *
 * Settings: the defaults below, overridden by "-Ekey=value" arguments (these also override config/elasticsearch.yml).
 * path.home comes from -Des.path.home (required).
 */
public final class LocalElasticsearch extends Node {

    private LocalElasticsearch(Environment environment, Collection<Class<? extends Plugin>> plugins) {
        super(NodeConstruction.prepareConstruction(environment, null, new NodeServiceProvider() {
            @Override
            PluginsService newPluginService(Environment env, PluginsLoader ignored) {
                return new MockPluginsService(env.settings(), env, plugins);
            }
        }, true));
    }

    public static void main(String[] args) throws Exception {
        String home = System.getProperty("es.path.home");
        if (home == null) {
            throw new IllegalArgumentException("-Des.path.home is required");
        }
        Path homeDir = Path.of(home).toAbsolutePath();
        Path configDir = homeDir.resolve("config");
        Files.createDirectories(configDir);
        Path log4j = configDir.resolve("log4j2.properties");
        if (Files.exists(log4j) == false) {
            // everything to stdout; the start script redirects it to var/log/elasticsearch.log
            Files.writeString(log4j, String.join("\n",
                "status = error",
                "appender.console.type = Console",
                "appender.console.name = console",
                "appender.console.layout.type = PatternLayout",
                "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%consoleException%n",
                "rootLogger.level = info",
                "rootLogger.appenderRef.console.ref = console",
                ""));
        }

        Settings.Builder input = Settings.builder()
            .put("path.home", homeDir.toString())
            .put("cluster.name", "logs-platform")
            .put("node.name", "local")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", "9200")
            .put("transport.port", "9300-9400")
            .put("action.auto_create_index", "true")
            .put("cluster.routing.allocation.disk.threshold_enabled", "false");
        for (String arg : args) {
            if (arg.startsWith("-E") && arg.indexOf('=') > 2) {
                int eq = arg.indexOf('=');
                input.put(arg.substring(2, eq), arg.substring(eq + 1));
            } else {
                throw new IllegalArgumentException("unsupported argument [" + arg + "], use -Ekey=value");
            }
        }
        Settings settings = input.build();
        Environment environment = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), configDir, () -> "local");
        LogConfigurator.setClusterName(environment.settings().get("cluster.name"));
        LogConfigurator.setNodeName(environment.settings().get("node.name"));
        LogConfigurator.configure(environment, true);

        Node node = new LocalElasticsearch(environment, List.of(Netty4Plugin.class, RootInfoPlugin.class));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.prepareForClose();
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "es-shutdown"));
        try {
            node.start();
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1); // runs the shutdown hook, so the process never lingers half-started
        }
        stopped.await(); // keep-alive: ES threads are daemons
    }

    /** GET|HEAD / : name, cluster_name, cluster_uuid, version{...}, tagline - as the rest-root module answers. */
    public static final class RootInfoPlugin extends Plugin implements ActionPlugin {
        private volatile ClusterService clusterService;

        @Override
        public Collection<?> createComponents(PluginServices services) {
            clusterService = services.clusterService();
            return List.of();
        }

        @Override
        public Collection<RestHandler> getRestHandlers(
            Settings settings,
            NamedWriteableRegistry namedWriteableRegistry,
            RestController restController,
            ClusterSettings clusterSettings,
            IndexScopedSettings indexScopedSettings,
            SettingsFilter settingsFilter,
            IndexNameExpressionResolver indexNameExpressionResolver,
            Supplier<DiscoveryNodes> nodesInCluster,
            Predicate<NodeFeature> clusterSupportsFeature
        ) {
            return List.of(new BaseRestHandler() {
                @Override
                public String getName() {
                    return "main_action";
                }

                @Override
                public List<Route> routes() {
                    return List.of(new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
                }

                @Override
                public boolean canTripCircuitBreaker() {
                    return false;
                }

                @Override
                protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
                    return channel -> {
                        Build build = Build.current();
                        var state = clusterService.state();
                        XContentBuilder b = channel.newBuilder();
                        if (request.hasParam("pretty") == false) {
                            b.prettyPrint().lfAtEnd();
                        }
                        b.startObject()
                            .field("name", clusterService.getNodeName())
                            .field("cluster_name", state.getClusterName().value())
                            .field("cluster_uuid", state.metadata().clusterUUID())
                            .startObject("version")
                            .field("number", build.qualifiedVersion())
                            .field("build_flavor", build.flavor())
                            .field("build_type", build.type().displayName())
                            .field("build_hash", build.hash())
                            .field("build_date", build.date())
                            .field("build_snapshot", build.isSnapshot())
                            .field("lucene_version", org.apache.lucene.util.Version.LATEST.toString())
                            .field("minimum_wire_compatibility_version", build.minWireCompatVersion())
                            .field("minimum_index_compatibility_version", build.minIndexCompatVersion())
                            .endObject()
                            .field("tagline", "You Know, for Search")
                            .endObject();
                        channel.sendResponse(new RestResponse(RestStatus.OK, b));
                    };
                }
            });
        }
    }
}
