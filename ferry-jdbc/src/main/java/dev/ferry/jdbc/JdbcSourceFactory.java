package dev.ferry.jdbc;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import dev.ferry.source.PositionCodec;
import dev.ferry.source.Source;
import dev.ferry.source.SourceFactory;
import java.time.Clock;
import java.util.List;

/** {@code type: jdbc}: batch extraction by query from any JDBC database. */
public final class JdbcSourceFactory implements SourceFactory {
    private static final PositionCodec CODEC = new JdbcPositionCodec();

    @Override
    public String type() {
        return "jdbc";
    }

    @Override
    public List<Setting<?>> settings() {
        return JdbcSettings.ALL;
    }

    @Override
    public PositionCodec positionCodec() {
        return CODEC;
    }

    @Override
    public Source create(String pipelineName, ComponentConfig config) throws FerryException {
        return new JdbcSource(pipelineName, JdbcSettings.read(config), Clock.systemUTC());
    }
}
