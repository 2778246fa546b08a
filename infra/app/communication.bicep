// Azure Communication Services for ACS identities and tokens, reached by Entra identity only:
// access keys are disabled, so COMMUNICATION_SERVICES_CONNECTION_STRING is never set in Azure.
param name string
param tags object
@description('Where ACS stores its data at rest.')
param dataLocation string

resource communication 'Microsoft.Communication/communicationServices@2025-05-01' = {
  name: name
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
    disableLocalAuth: true
  }
}

output name string = communication.name
output endpoint string = 'https://${communication.properties.hostName}/'
