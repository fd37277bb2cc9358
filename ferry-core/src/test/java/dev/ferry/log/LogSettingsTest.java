package dev.ferry.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.config.ConfigLoader;
import dev.ferry.config.PipelineConfig;
import dev.ferry.error.FerryException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class LogSettingsTest {
    private static PipelineConfig parse(String log) throws FerryException {
        return ConfigLoader.parse("name: p\nsource: {type: x}\nsink: {type: y}\n" + log, "pipeline.yaml", Path.of("/tmp"),
                n -> null);
    }

    @Test
    void defaultsWhenTheSectionIsAbsent() throws Exception {
        assertThat(LogSettings.read(parse("").log())).isEqualTo(LogSettings.DEFAULT);
    }

    @Test
    void theDefaultIsGroupCommitEveryTenMilliseconds() throws Exception {
        assertThat(LogSettings.DEFAULT.options().fsyncIntervalMillis()).isEqualTo(10);
        assertThat(LogSettings.read(parse("log:\n  fsync: batch\n").log()).options().fsyncIntervalMillis()).isZero();
    }

    @Test
    void theIntervalDefaultsToATenthOfTheSinksShortestCommitIntervalUnlessSet() throws Exception {
        assertThat(LogSettings.Interval.beside(1000)).isEqualTo(100);
        assertThat(LogSettings.Interval.beside(500)).isEqualTo(50);
        assertThat(LogSettings.Interval.beside(100)).isEqualTo(10);
        assertThat(LogSettings.Interval.beside(50)).isEqualTo(5);
        assertThat(LogSettings.Interval.beside(10)).as("a sink set for latency").isEqualTo(2);
        assertThat(LogSettings.Interval.beside(0)).isEqualTo(2);
        assertThat(LogSettings.Interval.beside(10_000)).isEqualTo(100);
        assertThat(LogSettings.read(parse("").log(), 100).options().fsyncIntervalMillis()).isEqualTo(100);
        assertThat(LogSettings.read(parse("log:\n  segment_mb: 16\n").log(), 50).options().fsyncIntervalMillis())
                .isEqualTo(50);
        assertThat(LogSettings.read(parse("log:\n  fsync_interval_ms: 20\n").log(), 100).options().fsyncIntervalMillis())
                .isEqualTo(20);
        assertThat(LogSettings.read(parse("log:\n  fsync: batch\n").log(), 100).options().fsyncIntervalMillis()).isZero();
    }

    @Test
    void readsEveryKey() throws Exception {
        LogSettings s = LogSettings.read(parse("log:\n  fsync: interval\n  fsync_interval_ms: 50\n  segment_mb: 16\n"
                + "  max_mb: 100\n  retain_delivered_hours: 2\n").log());
        assertThat(s.options()).isEqualTo(new FileLog.Options(16L << 20, 50));
        assertThat(s.maxBytes()).isEqualTo(100L << 20);
        assertThat(s.retainDeliveredMillis()).isEqualTo(7_200_000L);
    }

    @Test
    void unknownKeyAndImpossibleCapAreConfigErrorsWithTheLine() throws Exception {
        assertThatThrownBy(() -> LogSettings.read(parse("log:\n  fsynk: batch\n").log()))
                .hasMessageContaining("pipeline.yaml line 5: unknown key log.fsynk").hasMessageContaining("Did you mean fsync?");
        assertThatThrownBy(() -> LogSettings.read(parse("log:\n  max_mb: 64\n").log()))
                .hasMessageContaining("pipeline.yaml line 5: log.max_mb is 64 MB, less than two segments");
    }

    @Test
    void anotherTypesKeysAreItsFactorys() throws Exception {
        assertThat(LogSettings.read(parse("log:\n  type: kafka\n  bootstrap_servers: k:9092\n").log()))
                .isEqualTo(LogSettings.OTHER_TYPE);
        assertThat(LogSettings.read(parse("log:\n  type: file\n  segment_mb: 16\n").log()).options().segmentBytes())
                .isEqualTo(16L << 20);
    }
}
