"""Reports: the measurement record, charts, allure attachments."""
