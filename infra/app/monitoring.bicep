// Log Analytics and a workspace-based Application Insights. Local (instrumentation-key) ingestion
// is off, so telemetry is accepted only with an Entra token of an identity holding
// Monitoring Metrics Publisher: the connection string alone cannot be used to write data.
param logAnalyticsName string
param applicationInsightsName string
param location string
param tags { *: string }

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2026-03-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    DisableLocalAuth: true
  }
}

output applicationInsightsName string = applicationInsights.name
// Not a secret once local auth is off: it names the ingestion endpoint; writing needs Entra.
output applicationInsightsConnectionString string = applicationInsights.properties.ConnectionString
output logAnalyticsName string = logAnalytics.name
