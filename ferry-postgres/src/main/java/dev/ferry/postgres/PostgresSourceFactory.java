package dev.ferry.postgres;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import dev.ferry.source.PositionCodec;
import dev.ferry.source.Source;
import dev.ferry.source.SourceFactory;
import java.util.List;

/** {@code type: postgres}: change data capture from PostgreSQL 10 or newer. */
public final class PostgresSourceFactory implements SourceFactory {
    private static final PositionCodec CODEC = new PgPositionCodec();

    @Override
    public String type() {
        return "postgres";
    }

    @Override
    public List<Setting<?>> settings() {
        return ConnectionSettings.ALL;
    }

    @Override
    public PositionCodec positionCodec() {
        return CODEC;
    }

    @Override
    public Source create(String pipelineName, ComponentConfig config) throws FerryException {
        return new PostgresSource(pipelineName, ConnectionSettings.read(pipelineName, config));
    }
}
