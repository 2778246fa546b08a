// The one identity the Function App uses for everything it reaches: storage, ACS (identities, SMS,
// email), Key Vault and Application Insights. User-assigned, so the role assignments exist before
// the app starts.
param name string
param location string
param tags { *: string }

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

output resourceId string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
output name string = identity.name
