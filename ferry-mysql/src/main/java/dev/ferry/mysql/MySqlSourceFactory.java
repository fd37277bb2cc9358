package dev.ferry.mysql;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import dev.ferry.source.PositionCodec;
import dev.ferry.source.Source;
import dev.ferry.source.SourceFactory;
import java.util.List;

/** {@code type: mysql}: change data capture from MariaDB 10.5+ or MySQL 8 through the binlog in ROW format. */
public final class MySqlSourceFactory implements SourceFactory {
    private static final PositionCodec CODEC = new MySqlPositionCodec();

    @Override
    public String type() {
        return "mysql";
    }

    @Override
    public List<Setting<?>> settings() {
        return MySqlSettings.ALL;
    }

    @Override
    public PositionCodec positionCodec() {
        return CODEC;
    }

    @Override
    public Source create(String pipelineName, ComponentConfig config) throws FerryException {
        return new MySqlSource(pipelineName, MySqlSettings.read(pipelineName, config));
    }
}
