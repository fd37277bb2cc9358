package dev.ferry.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** The pipeline file: parsing, and an error naming the file, the line and the key for every mistake. */
class ConfigLoaderTest {
    private static final Path BASE = Path.of("/srv/pipelines").toAbsolutePath();
    private static final UnaryOperator<String> NO_ENV = name -> null;

    private static final Setting<String> HOST = Setting.string("host", "the server host", "db.internal").required();
    private static final Setting<Integer> PORT = Setting.integer("port", "the server port", 1, 65535).withDefault(5432);
    private static final Setting<String> DATABASE = Setting.string("database", "the database to read", "shop").required();
    private static final Setting<String> PASSWORD = Setting.string("password", "the password", null).secret();
    private static final Setting<Boolean> SSL = Setting.bool("ssl", "whether to use TLS").withDefault(false);
    private static final Setting<String> MODE = Setting.oneOf("mode", "how to read", "stream", "once").withDefault("stream");
    private static final Setting<List<String>> TABLES = Setting.stringList("tables", "tables to read", "public.orders");
    private static final List<Setting<?>> POSTGRES = List.of(HOST, PORT, DATABASE, PASSWORD, SSL, MODE, TABLES);

    private static PipelineConfig parse(String yaml) throws FerryException {
        return ConfigLoader.parse(yaml, "pipeline.yaml", BASE, NO_ENV);
    }

    private static PipelineConfig parse(String yaml, Map<String, String> env) throws FerryException {
        return ConfigLoader.parse(yaml, "pipeline.yaml", BASE, env::get);
    }

    private static FerryException configError(ThrowingAction action) {
        FerryException e = catchThrowableOfType(FerryException.class, action::run);
        assertThat(e).as("expected a FerryException").isNotNull();
        assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG);
        return e;
    }

    @FunctionalInterface
    private interface ThrowingAction {
        void run() throws Exception;
    }

    @Test
    void parsesNameSourceAndSingleSinkWithDefaultStateBesideTheFile() throws Exception {
        PipelineConfig config = parse("""
                name: shop
                source:
                  type: Postgres
                  host: db.internal
                  port: 6543
                  database: shop
                  tables: [public.orders, public.customers]
                sink:
                  type: jsonl
                  path: out/
                """);

        assertThat(config.name()).isEqualTo("shop");
        assertThat(config.file()).isEqualTo("pipeline.yaml");
        assertThat(config.state()).isEqualTo(BASE.resolve(".ferry/shop"));
        ComponentConfig source = config.source();
        assertThat(source.path()).isEqualTo("source");
        assertThat(source.type()).isEqualTo("postgres");
        source.rejectUnknownKeys(POSTGRES);
        assertThat(source.get(HOST)).isEqualTo("db.internal");
        assertThat(source.get(PORT)).isEqualTo(6543);
        assertThat(source.find(TABLES)).contains(List.of("public.orders", "public.customers"));
        assertThat(source.get(SSL)).isFalse();
        assertThat(source.get(MODE)).isEqualTo("stream");
        assertThat(source.find(PASSWORD)).isEmpty();
        assertThat(source.has("port")).isTrue();
        assertThat(source.line("port")).isEqualTo(5);
        assertThat(source.where("port")).isEqualTo("pipeline.yaml line 5: source.port");

        assertThat(config.sinks()).hasSize(1);
        ComponentConfig sink = config.sinks().get(0);
        assertThat(sink.path()).isEqualTo("sink");
        assertThat(sink.type()).isEqualTo("jsonl");
        assertThat(sink.resolve("out/")).isEqualTo(BASE.resolve("out"));
    }

    @Test
    void parsesListOfSinksEachWithItsOwnPath() throws Exception {
        PipelineConfig config = parse("""
                name: shop
                source: {type: postgres, host: h, database: d}
                sinks:
                  - type: jsonl
                    path: a/
                  - type: jsonl
                    path: b/
                """);

        assertThat(config.sinks()).extracting(ComponentConfig::path).containsExactly("sinks[0]", "sinks[1]");
        assertThat(config.sinks().get(1).get(Setting.string("path", "p", null).required())).isEqualTo("b/");
        assertThat(config.sinks().get(1).line("path")).isEqualTo(7);
    }

    @Test
    void readsAStringMapWithEnvironmentValuesAndRejectsAScalar() throws Exception {
        Setting<Map<String, String>> props = Setting.stringMap("properties", "client properties", "{a: b}");
        PipelineConfig config = parse("""
                name: shop
                source: {type: postgres}
                sink:
                  type: kafka
                  properties:
                    security.protocol: SASL_SSL
                    sasl.jaas.config: ${env:JAAS}
                  bad: x
                """, Map.of("JAAS", "secret-jaas"));

        assertThat(config.sinks().get(0).get(props.withDefault(Map.of())))
                .containsExactly(Map.entry("security.protocol", "SASL_SSL"), Map.entry("sasl.jaas.config", "secret-jaas"));
        FerryException e = configError(() -> config.sinks().get(0).get(Setting.stringMap("bad", "d", null).withDefault(Map.of())));
        assertThat(e.getMessage()).contains("line 8").contains("sink.bad").contains("must be a map");
    }

    @Test
    void resolvesExplicitStateAgainstTheFilesFolder() throws Exception {
        PipelineConfig config = parse("""
                name: shop
                state: ../state/shop
                source: {type: postgres}
                sink: {type: jsonl}
                """);

        assertThat(config.state()).isEqualTo(BASE.resolve("../state/shop").normalize());
    }

    @Test
    void loadsFileFromDiskWithItsFolderAsBase(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path file = dir.resolve("shop.yaml");
        java.nio.file.Files.writeString(file, "name: shop\nsource: {type: postgres}\nsink: {type: jsonl}\n");

        PipelineConfig config = ConfigLoader.load(file, NO_ENV);

        assertThat(config.file()).isEqualTo("shop.yaml");
        assertThat(config.state()).isEqualTo(dir.toAbsolutePath().resolve(".ferry/shop"));
    }

    @Test
    void missingFileIsConfigErrorNamingIt(@org.junit.jupiter.api.io.TempDir Path dir) {
        FerryException e = configError(() -> ConfigLoader.load(dir.resolve("nope.yaml"), NO_ENV));
        assertThat(e.getMessage()).contains("nope.yaml").contains("does not exist");
    }

    @Test
    void malformedYamlNamesFileAndLine() {
        FerryException e = configError(() -> parse("""
                name: shop
                source:
                  type: postgres
                  host: db.internal: 5432
                sink: {type: jsonl}
                """));

        assertThat(e.getMessage()).startsWith("pipeline.yaml line 4: this is not valid YAML: mapping values are not allowed here");
    }

    @Test
    void unclosedQuoteIsConfigErrorNamingFileAndALine() {
        FerryException e = configError(() -> parse("""
                name: shop
                source:
                  type: postgres
                  host: "db.internal
                sink: {type: jsonl}
                """));

        // SnakeYAML reports where it gave up (the end of the text), not the line with the quote
        assertThat(e.getMessage()).matches("pipeline\\.yaml line \\d+: this is not valid YAML: .*quoted scalar.*");
    }

    @Test
    void badIndentationReportsTheLineOfTheProblem() {
        FerryException e = configError(() -> parse("""
                name: shop
                source:
                  type: postgres
                 host: db
                sink: {type: jsonl}
                """));

        assertThat(e.getMessage()).startsWith("pipeline.yaml line 4: this is not valid YAML");
    }

    @Test
    void emptyFileIsConfigError() {
        FerryException e = configError(() -> parse("   \n# only a comment\n"));
        assertThat(e.getMessage()).contains("pipeline.yaml is empty");
    }

    @Test
    void topLevelThatIsNotAMapIsConfigError() {
        FerryException e = configError(() -> parse("- name: shop\n"));
        assertThat(e.getMessage()).startsWith("pipeline.yaml: the pipeline file must be a map");
    }

    @Test
    void unknownTopLevelKeySuggestsClosest() {
        FerryException e = configError(() -> parse("""
                name: shop
                source: {type: postgres}
                sink: {type: jsonl}
                stat: .state
                """));

        assertThat(e.getMessage())
                .startsWith("pipeline.yaml line 4: unknown key stat.")
                .contains("Did you mean state?")
                .contains("Known keys here: name, source, sink, sinks, state");
    }

    @Test
    void unknownTopLevelSectionIsReportedOnTheLineOfItsKey() {
        FerryException e = configError(() -> parse("""
                name: shop
                sorce:
                  type: postgres
                  host: db
                sink: {type: jsonl}
                """));

        assertThat(e.getMessage()).startsWith("pipeline.yaml line 2: unknown key sorce.").contains("Did you mean source?");
    }

    @Test
    void unknownKeyInSectionNamesKeyLineAndClosestKey() throws Exception {
        PipelineConfig config = parse("""
                name: shop
                source:
                  type: postgres
                  host: db
                  prot: 5432
                sink: {type: jsonl}
                """);

        FerryException e = configError(() -> config.source().rejectUnknownKeys(POSTGRES));

        assertThat(e.getMessage())
                .startsWith("pipeline.yaml line 5: unknown key source.prot.")
                .contains("Did you mean port?")
                .contains("Known keys here: type, host, port, database, password, ssl, mode, tables.");
    }

    @Test
    void unknownKeyFarFromEveryKnownKeyGetsNoSuggestion() throws Exception {
        PipelineConfig config = parse("""
                name: shop
                source:
                  type: postgres
                  compression_level: 9
                sink: {type: jsonl}
                """);

        FerryException e = configError(() -> config.source().rejectUnknownKeys(POSTGRES));

        assertThat(e.getMessage()).startsWith("pipeline.yaml line 4: unknown key source.compression_level.")
                .doesNotContain("Did you mean");
    }

    @Test
    void unknownKeyInSecondSinkNamesItsListPath() throws Exception {
        PipelineConfig config = parse("""
                name: shop
                source: {type: postgres}
                sinks:
                  - type: jsonl
                    path: a/
                  - type: jsonl
                    pth: b/
                """);
        List<Setting<?>> jsonl = List.of(Setting.string("path", "the output folder", "out/").required());

        config.sinks().get(0).rejectUnknownKeys(jsonl);
        FerryException e = configError(() -> config.sinks().get(1).rejectUnknownKeys(jsonl));

        assertThat(e.getMessage()).startsWith("pipeline.yaml line 7: unknown key sinks[1].pth.").contains("Did you mean path?");
    }

    @Test
    void missingNameSourceOrSinkIsConfigErrorNamingTheKey() {
        assertThat(configError(() -> parse("source: {type: p}\nsink: {type: j}\n")).getMessage())
                .startsWith("pipeline.yaml: name is missing");
        assertThat(configError(() -> parse("name: shop\nsink: {type: j}\n")).getMessage())
                .startsWith("pipeline.yaml: source is missing");
        assertThat(configError(() -> parse("name: shop\nsource: {type: p}\n")).getMessage())
                .startsWith("pipeline.yaml: sink is missing");
    }

    @Test
    void missingRequiredSectionKeyNamesItAndGivesAnExample() throws Exception {
        PipelineConfig config = parse("""
                name: shop
                source:
                  type: postgres
                  database: shop
                sink: {type: jsonl}
                """);

        FerryException e = configError(() -> config.source().get(HOST));

        assertThat(e.getMessage()).isEqualTo(
                "pipeline.yaml line 2: source.host is missing; the server host (for example host: db.internal).");
    }

    @Test
    void missingTypeIsConfigError() throws Exception {
        PipelineConfig config = parse("name: shop\nsource: {host: db}\nsink: {type: jsonl}\n");

        FerryException e = configError(() -> config.source().type());

        assertThat(e.getMessage()).startsWith("pipeline.yaml line 2: source.type is missing");
    }

    @Test
    void malformedNumberNamesValueBoundsAndLine() throws Exception {
        PipelineConfig config = parse("""
                name: shop
                source:
                  type: postgres
                  host: db
                  port: 54x2
                sink: {type: jsonl}
                """);

        FerryException e = configError(() -> config.source().get(PORT));

        assertThat(e.getMessage()).isEqualTo(
                "pipeline.yaml line 5: source.port must be a whole number from 1 to 65535, got \"54x2\".");
    }

    @Test
    void numberOutOfRangeIsRejected() throws Exception {
        PipelineConfig config = parse("name: shop\nsource: {type: postgres, port: 70000}\nsink: {type: jsonl}\n");

        assertThat(configError(() -> config.source().get(PORT)).getMessage())
                .isEqualTo("pipeline.yaml line 2: source.port must be a whole number from 1 to 65535, got \"70000\".");
    }

    @Test
    void booleanAndChoiceAndListValidateTheirValues() throws Exception {
        PipelineConfig config = parse("""
                name: shop
                source:
                  type: postgres
                  ssl: maybe
                  mode: sometimes
                  tables: {a: b}
                  host: [a, b]
                sink: {type: jsonl}
                """);
        ComponentConfig source = config.source();

        assertThat(configError(() -> source.get(SSL)).getMessage())
                .isEqualTo("pipeline.yaml line 4: source.ssl must be true or false, got \"maybe\".");
        assertThat(configError(() -> source.get(MODE)).getMessage())
                .isEqualTo("pipeline.yaml line 5: source.mode must be one of stream, once, got \"sometimes\".");
        assertThat(configError(() -> source.find(TABLES)).getMessage())
                .isEqualTo("pipeline.yaml line 6: source.tables must be a list, got a map.");
        assertThat(configError(() -> source.get(HOST)).getMessage())
                .isEqualTo("pipeline.yaml line 7: source.host must be a single value, got a list.");
    }

    @Test
    void singleTableCountsAsListOfOne() throws Exception {
        PipelineConfig config = parse("name: shop\nsource: {type: postgres, tables: public.orders}\nsink: {type: jsonl}\n");

        assertThat(config.source().find(TABLES)).contains(List.of("public.orders"));
    }

    @Test
    void substitutesEnvironmentVariables() throws Exception {
        PipelineConfig config = parse("""
                name: ${env:PIPELINE}
                source:
                  type: postgres
                  host: ${env:PGHOST}:${env:PGPORT:-5432}
                  password: "${env:PGPASSWORD}"
                  port: ${env:PGPORT:-5433}
                  database: ${env:PGDATABASE:-}
                sink: {type: jsonl}
                """, Map.of("PIPELINE", "shop", "PGHOST", "db.internal", "PGPASSWORD", "s3cr$t\\1"));

        assertThat(config.name()).isEqualTo("shop");
        assertThat(config.state()).isEqualTo(BASE.resolve(".ferry/shop"));
        assertThat(config.source().get(HOST)).isEqualTo("db.internal:5432");
        assertThat(config.source().find(PASSWORD)).contains("s3cr$t\\1");
        assertThat(config.source().get(PORT)).isEqualTo(5433);
        assertThat(config.source().get(DATABASE)).isEmpty();
    }

    @Test
    void setVariableWinsOverDefault() throws Exception {
        PipelineConfig config = parse("name: shop\nsource: {type: postgres, port: '${env:PGPORT:-5432}'}\nsink: {type: jsonl}\n",
                Map.of("PGPORT", "6432"));

        assertThat(config.source().get(PORT)).isEqualTo(6432);
    }

    @Test
    void missingVariableNamesItAndTheLine() throws Exception {
        PipelineConfig config = parse("""
                name: shop
                source:
                  type: postgres
                  password: ${env:PGPASSWORD}
                sink: {type: jsonl}
                """);

        FerryException e = configError(() -> config.source().find(PASSWORD));

        assertThat(e.getMessage()).startsWith("pipeline.yaml line 4: source.password refers to ${env:PGPASSWORD}")
                .contains("environment variable PGPASSWORD is not set");
    }

    @Test
    void missingVariableInNameFailsParse() {
        FerryException e = configError(() -> parse("name: ${env:PIPELINE}\nsource: {type: p}\nsink: {type: j}\n"));

        assertThat(e.getMessage()).startsWith("pipeline.yaml line 1: name refers to ${env:PIPELINE}");
    }

    @Test
    void invalidPipelineNameIsRejected() {
        FerryException e = configError(() -> parse("name: my shop\nsource: {type: p}\nsink: {type: j}\n"));

        assertThat(e.getMessage()).startsWith("pipeline.yaml line 1: name must start with a letter")
                .contains("got \"my shop\"");
    }

    @Test
    void duplicateTopLevelKeyNamesTheSecondLine() {
        FerryException e = configError(() -> parse("""
                name: shop
                source: {type: postgres}
                sink: {type: jsonl}
                name: other
                """));

        assertThat(e.getMessage()).isEqualTo("pipeline.yaml line 4: name is given twice.");
    }

    @Test
    void duplicateTopLevelSectionIsReportedOnTheLineOfItsKey() {
        FerryException e = configError(() -> parse("""
                name: shop
                source: {type: postgres}
                sink: {type: jsonl}
                source:
                  type: mysql
                """));

        assertThat(e.getMessage()).isEqualTo("pipeline.yaml line 4: source is given twice.");
    }

    @Test
    void duplicateKeyInsideSectionNamesItsPathAndLine() {
        FerryException e = configError(() -> parse("""
                name: shop
                source:
                  type: postgres
                  port: 5432
                  port: 5433
                sink: {type: jsonl}
                """));

        assertThat(e.getMessage()).isEqualTo("pipeline.yaml line 5: source.port is given twice.");
    }

    @Test
    void bothSinkAndSinksIsConfigError() {
        FerryException e = configError(() -> parse("""
                name: shop
                source: {type: postgres}
                sink: {type: jsonl}
                sinks:
                  - type: jsonl
                """));

        assertThat(e.getMessage()).isEqualTo("pipeline.yaml line 4: give either sink: or sinks:, not both.");
    }

    @Test
    void sinksMustBeANonEmptyListOfMaps() {
        assertThat(configError(() -> parse("name: shop\nsource: {type: p}\nsinks: {type: jsonl}\n")).getMessage())
                .isEqualTo("pipeline.yaml line 3: sinks must be a list of sinks, each with its own type:.");
        assertThat(configError(() -> parse("name: shop\nsource: {type: p}\nsinks: []\n")).getMessage())
                .isEqualTo("pipeline.yaml line 3: sinks must name at least one sink.");
        assertThat(configError(() -> parse("name: shop\nsource: {type: p}\nsinks: [jsonl]\n")).getMessage())
                .startsWith("pipeline.yaml line 3: sinks[0] must be a map of keys such as type:, got \"jsonl\"");
    }

    @Test
    void sectionThatIsNotAMapIsConfigError() {
        FerryException e = configError(() -> parse("name: shop\nsource: postgres\nsink: {type: jsonl}\n"));

        assertThat(e.getMessage()).isEqualTo("pipeline.yaml line 2: source must be a map of keys such as type:, got \"postgres\".");
    }

    @Test
    void componentConfigOfYamlReadsASection() throws Exception {
        ComponentConfig demo = ComponentConfig.ofYaml("demo", "type: jsonl\npath: out/\n");

        assertThat(demo.type()).isEqualTo("jsonl");
        assertThat(demo.get(Setting.string("path", "p", null).required())).isEqualTo("out/");
    }

    @Test
    void settingDeclarationKeepsItsMetadata() {
        Setting<String> secret = Setting.string("password", "the password", "hunter2").secret().required();

        assertThat(secret.key()).isEqualTo("password");
        assertThat(secret.type()).isEqualTo("string");
        assertThat(secret.description()).isEqualTo("the password");
        assertThat(secret.example()).contains("hunter2");
        assertThat(secret.isRequired()).isTrue();
        assertThat(secret.isSecret()).isTrue();
        assertThat(PORT.defaultValue()).contains(5432);
        assertThat(PORT.isRequired()).isFalse();
        assertThat(MODE.type()).isEqualTo("stream | once");
    }
}
